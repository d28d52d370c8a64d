package org.vit4j.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import org.slf4j.LoggerFactory;
import org.vit4j.Vit4jException;

/**
 * The backends on the class path, and the choice among them by name or {@code auto}. A backend is
 * found by {@link ServiceLoader}: its jar (or module) lists its {@link BackendProvider} in
 * {@code META-INF/services/org.vit4j.backend.BackendProvider}, and nothing here names it.
 */
public final class Backends {
    private Backends() {}

    /**
     * Every backend the {@link ServiceLoader} finds through the thread's context class loader, most
     * preferred first (by {@link BackendProvider#preference()}, then name); where two share a name,
     * the first on the class path.
     */
    public static List<BackendProvider> all() {
        return all(ServiceLoader.load(BackendProvider.class));
    }

    /** As {@link #all()}, through {@code loader}. */
    public static List<BackendProvider> all(ClassLoader loader) {
        return all(ServiceLoader.load(BackendProvider.class, loader));
    }

    private static List<BackendProvider> all(ServiceLoader<BackendProvider> loader) {
        List<BackendProvider> all = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Iterator<BackendProvider> it = loader.iterator();
        // One broken provider (a class missing from its jar) must not hide the others; the loader
        // recovers on a best-effort basis, so a run of failures ends the search rather than looping.
        for (int failures = 0; failures < 16; ) {
            BackendProvider p;
            try {
                if (!it.hasNext()) break;
                p = it.next();
            } catch (ServiceConfigurationError e) {
                failures++;
                LoggerFactory.getLogger(Backends.class).warn("a backend provider could not be loaded: {}",
                        e.getMessage());
                continue;
            }
            if (names.add(p.name())) all.add(p);
        }
        all.sort(Comparator.comparingInt(BackendProvider::preference).thenComparing(BackendProvider::name));
        return all;
    }

    /**
     * Opens {@code name} ("cpu", "opencl", "cuda", "cuda-cpu") on its first device, or with "auto"
     * the most preferred available backend that is not for testing only (so never cuda-cpu). A named
     * backend that is unavailable is an error with its reason.
     */
    public static Backend open(String name) {
        return open(name, 0);
    }

    /** As {@link #open(String)}, on device {@code device} of the backend (an index into its probe's devices). */
    public static Backend open(String name, int device) {
        return open(name, device, BackendOptions.DEFAULT);
    }

    /** As {@link #open(String, int)}, with {@code options} (e.g. no CUDA graphs). */
    public static Backend open(String name, int device, BackendOptions options) {
        return open(all(), name, device, options);
    }

    /**
     * Opens every device of backend {@code name} (its probe's devices, in that order), one backend per
     * device; with "auto", every device of the backend {@code auto} would open. A named backend that
     * is unavailable is an error with its reason; where one device fails to open, those already
     * opened are closed and the error names the device.
     */
    public static List<Backend> openAll(String name) {
        return openAll(name, BackendOptions.DEFAULT);
    }

    /** As {@link #openAll(String)}, every device with {@code options}. */
    public static List<Backend> openAll(String name, BackendOptions options) {
        return openAll(all(), name, options);
    }

    static List<Backend> openAll(List<BackendProvider> providers, String name, BackendOptions options) {
        String n = name == null ? "auto" : name.toLowerCase(Locale.ROOT);
        BackendProvider chosen = null;
        List<String> passedOver = new ArrayList<>();
        for (BackendProvider p : providers) {
            if (n.equals("auto") ? p.testingOnly() == null : n.equals(p.name())) {
                BackendProvider.Probe probe = p.probe();
                if (probe.available() && !probe.devices().isEmpty()) {
                    chosen = p;
                    break;
                }
                if (!n.equals("auto")) {
                    throw new Vit4jException("backend '" + p.name() + "' is not available: "
                            + (probe.available() ? "it found no device" : probe.reason()));
                }
                passedOver.add(p.name() + ": " + (probe.available() ? "no device" : probe.reason()));
            }
        }
        if (chosen == null) {
            if (n.equals("auto")) throw new Vit4jException("no backend for auto: " + passedOver);
            throw new Vit4jException("unknown backend '" + name + "'; expected auto or one of "
                    + providers.stream().map(BackendProvider::name).toList());
        }
        List<String> devices = chosen.probe().devices();
        List<Backend> opened = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            try {
                opened.add(open(providers, chosen.name(), i, options));
            } catch (RuntimeException | LinkageError e) {
                for (Backend b : opened) {
                    try {
                        b.close();
                    } catch (RuntimeException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw new Vit4jException("backend '" + chosen.name() + "': device " + i + " (" + devices.get(i)
                        + ") could not be opened: " + e.getMessage(), e);
            }
        }
        return List.copyOf(opened);
    }

    /** The choice among {@code providers} (in preference order), for tests with providers of their own. */
    static Backend open(List<BackendProvider> providers, String name, int device, BackendOptions options) {
        BackendOptions o = options == null ? BackendOptions.DEFAULT : options;
        String n = name == null ? "auto" : name.toLowerCase(Locale.ROOT);
        List<String> known = new ArrayList<>();
        List<String> passedOver = new ArrayList<>();
        for (BackendProvider p : providers) {
            known.add(p.name());
            if (n.equals("auto")) {
                // A testing backend is never a choice made for the user, however available.
                if (p.testingOnly() != null) continue;
                BackendProvider.Probe probe = p.probe();
                if (probe.available() && device >= 0 && device < probe.devices().size()) return p.open(device, o);
                passedOver.add(p.name() + ": " + (probe.available() ? "no device " + device : probe.reason()));
            } else if (n.equals(p.name())) {
                BackendProvider.Probe probe = p.probe();
                if (!probe.available()) {
                    throw new Vit4jException("backend '" + p.name() + "' is not available: " + probe.reason());
                }
                if (device < 0 || device >= probe.devices().size()) {
                    throw new Vit4jException("backend '" + p.name() + "' has no device " + device + "; it found "
                            + probe.devices().size() + ": " + probe.devices());
                }
                return p.open(device, o);
            }
        }
        if (n.equals("auto")) throw new Vit4jException("no backend for auto on device " + device + ": " + passedOver);
        throw new Vit4jException("unknown backend '" + name + "'; expected auto or one of " + known);
    }
}
