package org.vit4j.backend.cpu;

import java.util.List;
import org.vit4j.backend.Backend;
import org.vit4j.backend.BackendProvider;

/** The Java reference: always there, always last choice under {@code auto}. */
public final class CpuProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int preference() {
        return 100;
    }

    @Override
    public Probe probe() {
        return Probe.available(List.of(new CpuBackend().deviceName()));
    }

    @Override
    public Backend open(int device) {
        return new CpuBackend();
    }
}
