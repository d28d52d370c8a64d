package org.vit4j.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The one local[2] session of this module's tests: starting Spark takes 15-35 s here, so every test
 * class shares it (surefire runs them in one JVM) and the JVM's exit stops it.
 */
final class SharedSpark {
    private static SparkSession session;

    private SharedSpark() {}

    static synchronized SparkSession get() {
        if (session == null) {
            long t0 = System.nanoTime();
            session = SparkSession.builder().master("local[2]").appName("vit4j-spark tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .getOrCreate();
            System.err.printf("SharedSpark: local[2] session started in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
        return session;
    }
}
