package org.vit4j.cli;

import org.vit4j.backend.Backend;
import org.vit4j.backend.Backends;

/** A library user's program: opens the "auto" backend and prints its name (CliTest runs it in a child JVM). */
public final class OpenAutoMain {
    private OpenAutoMain() {}

    public static void main(String[] args) {
        try (Backend b = Backends.open("auto")) {
            System.out.println("opened " + b.name());
        }
    }
}
