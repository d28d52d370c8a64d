package org.vit4j.model;

import java.util.ArrayList;
import java.util.List;
import org.vit4j.ElementType;
import org.vit4j.HostTensor;
import org.vit4j.backend.Backend;
import org.vit4j.backend.DeviceBuffer;

/**
 * A model's parameters uploaded to one backend in the model's storage type (converted once, here:
 * round to nearest even), released together when the model closes.
 */
final class DeviceWeights implements AutoCloseable {
    private final Backend backend;
    private final VitWeights host;
    private final ElementType type;
    private final List<DeviceBuffer> owned = new ArrayList<>();

    DeviceWeights(Backend backend, VitWeights host, ElementType type) {
        this.backend = backend;
        this.host = host;
        this.type = type;
    }

    /** The named parameter on the device, or null where an optional one is absent. */
    DeviceBuffer get(String name) {
        HostTensor t = host.get(name);
        if (t == null) return null;
        DeviceBuffer b = backend.upload(t, type);
        owned.add(b);
        return b;
    }

    @Override
    public void close() {
        for (DeviceBuffer b : owned) if (!b.isClosed()) b.close();
        owned.clear();
    }
}
