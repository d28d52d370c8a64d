package org.vit4j.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.vit4j.Vit4jException;
import org.vit4j.backend.cpu.CpuProvider;
import org.vit4j.backend.cuda.CudaProvider;
import org.vit4j.backend.opencl.OpenClProvider;

/** The backends vit4j knows, and the choice among them by name or {@code auto}. */
public final class Backends {
    private Backends() {}

    public static List<BackendProvider> all() {
        List<BackendProvider> all = new ArrayList<>(List.of(new CudaProvider(), new OpenClProvider(), new CpuProvider()));
        all.sort(Comparator.comparingInt(BackendProvider::preference));
        return all;
    }

    /**
     * Opens {@code name} ("cpu", "opencl", "cuda") on its first device, or with "auto" the most
     * preferred available backend. A named backend that is unavailable is an error with its reason.
     */
    public static Backend open(String name) {
        return open(name, 0);
    }

    /** As {@link #open(String)}, on device {@code device} of the backend (an index into its probe's devices). */
    public static Backend open(String name, int device) {
        String n = name == null ? "auto" : name.toLowerCase(Locale.ROOT);
        List<String> known = new ArrayList<>();
        for (BackendProvider p : all()) {
            known.add(p.name());
            if (n.equals("auto")) {
                BackendProvider.Probe probe = p.probe();
                if (probe.available() && device < probe.devices().size()) return p.open(device);
            } else if (n.equals(p.name())) {
                BackendProvider.Probe probe = p.probe();
                if (!probe.available()) {
                    throw new Vit4jException("backend '" + p.name() + "' is not available: " + probe.reason());
                }
                if (device < 0 || device >= probe.devices().size()) {
                    throw new Vit4jException("backend '" + p.name() + "' has no device " + device + "; it found "
                            + probe.devices().size() + ": " + probe.devices());
                }
                return p.open(device);
            }
        }
        throw new Vit4jException("unknown backend '" + name + "'; expected auto or one of " + known);
    }
}
