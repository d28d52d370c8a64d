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
        String n = name == null ? "auto" : name.toLowerCase(Locale.ROOT);
        List<String> known = new ArrayList<>();
        for (BackendProvider p : all()) {
            known.add(p.name());
            if (n.equals("auto")) {
                if (p.probe().available()) return p.open(0);
            } else if (n.equals(p.name())) {
                BackendProvider.Probe probe = p.probe();
                if (!probe.available()) {
                    throw new Vit4jException("backend '" + p.name() + "' is not available: " + probe.reason());
                }
                return p.open(0);
            }
        }
        throw new Vit4jException("unknown backend '" + name + "'; expected auto or one of " + known);
    }
}
