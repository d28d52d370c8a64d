package org.vit4j.spark;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.vit4j.ElementType;
import org.vit4j.Vit4jException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vit4j spark}: every image file under a directory through {@link VitInference}, one output row per
 * file (path, top-k labels and probabilities and/or the embedding, error), written as Parquet or JSON
 * Lines. The same class runs locally ({@code ./vit4j spark ... --master local[2]}) and on a cluster
 * ({@code spark-submit --class org.vit4j.spark.SparkJob vit4j-spark/target/vit4j-spark-job.jar ...}), where
 * spark-submit's master and settings apply.
 */
@Command(name = "vit4j spark", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Classify (and/or embed) every image under a directory with Spark; one row per file.")
public final class SparkJob implements Callable<Integer> {
    @Option(names = "--input", required = true, paramLabel = "DIR",
            description = "Directory of images (read recursively; any Spark/Hadoop path: file:, hdfs://, s3a://).")
    String input;

    @Option(names = "--output", required = true, paramLabel = "OUT", description = "Output directory (must not exist unless --overwrite).")
    String output;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master, e.g. local[2]; default: spark-submit's, else local[*].")
    String master;

    @Option(names = "--format", paramLabel = "parquet|jsonl", defaultValue = "parquet",
            description = "Output format (default ${DEFAULT-VALUE}); jsonl is one JSON object a line.")
    String format;

    @Option(names = "--weights", paramLabel = "W",
            description = "Safetensors checkpoint every executor can read (or shipped with --files); default: the embedded digits model.")
    String weights;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "Top-k labels and probabilities; 0 for none (default ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--embeddings", description = "Add the pre-logits embedding column (array<float>).")
    boolean embeddings;

    @Option(names = "--logits", description = "Add the raw logits column (array<float>).")
    boolean logits;

    @Option(names = "--backend", paramLabel = "B", defaultValue = "auto",
            description = "auto, cpu, opencl, cuda, cuda-cpu where Spark assigns no GPU (default ${DEFAULT-VALUE}); a task's Spark GPU wins for auto/cuda.")
    String backend;

    @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", defaultValue = "fp32", description = "Storage precision (default ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Images per forward pass in a partition (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--partitions", paramLabel = "N", description = "Repartition the input into N partitions (default: as Spark reads it).")
    Integer partitions;

    @Option(names = "--fail-fast", description = "Fail the job at the first unreadable image instead of writing an error row.")
    boolean failFast;

    @Option(names = "--overwrite", description = "Replace OUT if it exists.")
    boolean overwrite;

    private PrintStream out = System.out;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the job; the exit status: 0 done, 1 failed (one line on {@code err}), 2 bad arguments. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        SparkJob job = new SparkJob();
        job.out = out;
        CommandLine cl = new CommandLine(job);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            err.println("vit4j spark: " + describe(e));
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        String fmt = format.toLowerCase(Locale.ROOT);
        if (!fmt.equals("parquet") && !fmt.equals("jsonl")) {
            throw new Vit4jException("--format " + format + ": expected parquet or jsonl");
        }
        if (partitions != null && partitions < 1) throw new Vit4jException("--partitions " + partitions + ": expected >= 1");
        VitInference vit = VitInference.builder().weights(weights).backend(backend).precision(ElementType.parse(precision))
                .topK(top).embeddings(embeddings).logits(logits).batchSize(batch).failFast(failFast).build();
        boolean ownSession = SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = session(master);
        try {
            long t0 = System.nanoTime();
            Dataset<Row> images = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(input);
            if (partitions != null) images = images.repartition(partitions);
            Dataset<Row> result = vit.transform(images);
            List<Column> keep = new ArrayList<>();
            keep.add(functions.col("path"));
            for (String c : vit.resultColumns()) keep.add(functions.col(c));
            var writer = result.select(keep.toArray(new Column[0])).write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists);
            if (fmt.equals("parquet")) writer.parquet(output);
            else writer.option("ignoreNullFields", "false").json(output); // every key on every line, null where absent
            double seconds = (System.nanoTime() - t0) / 1e9;
            Dataset<Row> written = fmt.equals("parquet") ? spark.read().parquet(output) : spark.read().json(output);
            long rows = written.count();
            long errors = rows == 0 ? 0 : written.filter(functions.col(VitInference.ERROR).isNotNull()).count();
            out.printf(Locale.ROOT, "vit4j spark: %d images (%d unreadable) -> %s (%s) in %.1f s, %.1f images/s, master %s, %s%n",
                    rows, errors, output, fmt, seconds, rows / seconds, spark.sparkContext().master(), vit);
            return 0;
        } finally {
            if (ownSession) spark.stop();
        }
    }

    /**
     * The session: spark-submit's (its master and settings) where there is one, or a local one. Local
     * sessions run without the web UI (nobody looks at it during a CLI run, and it takes a port).
     */
    static SparkSession session(String master) {
        SparkSession.Builder b = SparkSession.builder().appName("vit4j spark");
        String m = master != null ? master : System.getProperty("spark.master", "local[*]");
        b.master(m);
        if (m.startsWith("local")) b.config("spark.ui.enabled", "false");
        return b.getOrCreate();
    }

    /**
     * One line for a failure: vit4j's own message where one is in the cause chain (an unreadable image
     * under --fail-fast names its file), else the innermost cause's first line. Spark wraps task failures
     * in its own exceptions, whose messages carry the remote stack trace.
     */
    static String describe(Throwable e) {
        Throwable innermost = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Vit4jException) return PartitionRunner.oneLine(t);
            innermost = t;
            if (t.getCause() == t) break;
        }
        // a task failure whose exception did not come back as a cause: its text is in the message
        String marker = Vit4jException.class.getName() + ": ";
        for (Throwable t = e; t != null; t = t.getCause()) {
            String msg = t.getMessage();
            int at = msg == null ? -1 : msg.indexOf(marker);
            if (at >= 0) return PartitionRunner.oneLine(new Vit4jException(msg.substring(at + marker.length())));
            if (t.getCause() == t) break;
        }
        return PartitionRunner.oneLine(innermost);
    }
}
