package org.vit4j.cli;

import java.io.PrintWriter;
import org.vit4j.Vit4jException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code vit4j}: classify images, run a checkpoint on a tensor file, list devices. */
@Command(name = "vit4j", mixinStandardHelpOptions = true, version = "vit4j 0.1.0",
        description = "Vision Transformer inference with hand-written kernels, checked against a Java reference.",
        subcommands = {ClassifyCommand.class, RunCommand.class, DevicesCommand.class, BenchCommand.class,
                SoakCommand.class, AttentionCommand.class, PosEmbedCommand.class})
public final class Main {

    /** Exit status for bad input (a file, tensor or argument at fault). */
    static final int EXIT_BAD_INPUT = 2;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit status, for tests. */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            if (e instanceof Vit4jException || e instanceof java.io.UncheckedIOException) {
                err.println("vit4j: error: " + oneLine(e.getMessage()));
                return EXIT_BAD_INPUT;
            }
            err.println("vit4j: internal error: " + e);
            e.printStackTrace(err);
            return 1;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println("vit4j: error: " + oneLine(e.getMessage()));
            // A misspelled option or command: picocli's nearest matches ("did you mean --precision?").
            if (e instanceof picocli.CommandLine.UnmatchedArgumentException u) {
                java.util.List<String> near = u.getSuggestions();
                if (!near.isEmpty()) err.println("did you mean: " + String.join(", ", near.subList(0, Math.min(3, near.size()))) + "?");
            }
            err.println("try: vit4j " + (e.getCommandLine().getCommandName().equals("vit4j") ? ""
                    : e.getCommandLine().getCommandName() + " ") + "--help");
            return EXIT_BAD_INPUT;
        });
        if (args.length == 0) {
            cli.usage(cli.getOut());
            return EXIT_BAD_INPUT;
        }
        return cli.execute(args);
    }

    private static String oneLine(String s) {
        return s == null ? "(no message)" : s.replace('\n', ' ');
    }
}
