package org.vit4j.cli;

import java.util.concurrent.Callable;
import org.vit4j.backend.BackendProvider;
import org.vit4j.backend.Backends;
import picocli.CommandLine.Command;

/** Lists each backend with the devices it found, and why it cannot run where it cannot. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List backends and devices, and why any is missing.")
final class DevicesCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        for (BackendProvider p : Backends.all()) {
            BackendProvider.Probe probe = p.probe();
            String testing = p.testingOnly() == null ? "" : " (testing only: " + p.testingOnly() + "; never chosen by auto)";
            System.out.printf("%-8s %s%s%n", p.name(), probe.available() ? "available" : "unavailable: " + probe.reason(),
                    testing);
            for (int i = 0; i < probe.devices().size(); i++) {
                System.out.printf("         [%d] %s%n", i, probe.devices().get(i));
            }
        }
        return 0;
    }
}
