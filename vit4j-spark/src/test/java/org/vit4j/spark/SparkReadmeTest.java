package org.vit4j.spark;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Spark lines, as written, compile against this module's API (they name a checkpoint and an
 * image folder that are not here, so they are compiled, not run; VitInferenceTest runs the same calls).
 */
class SparkReadmeTest {
    @Test
    void theReadmeSparkLinesCompile(@TempDir Path tmp) throws Exception {
        String readme = Files.readString(Path.of("README.md")); // tests run in the checkout's root
        int section = readme.indexOf("\n## Spark\n");
        assertTrue(section >= 0, "README.md has no section 'Spark'");
        Matcher m = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(section), "README.md's Spark section has no java block");
        String source = String.join("\n",
                "import org.apache.spark.sql.Dataset;",
                "import org.apache.spark.sql.Row;",
                "import org.apache.spark.sql.SparkSession;",
                "import org.vit4j.spark.VitInference;",
                "public class SparkLines {",
                "    public static Dataset<Row> run(SparkSession spark) {",
                m.group(1),
                "        return out;",
                "    }",
                "}");
        Path file = tmp.resolve("SparkLines.java");
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (a JDK is needed to run this test)");
        StringWriter diagnostics = new StringWriter();
        boolean ok = javac.getTask(diagnostics, null, null,
                List.of("-d", tmp.toString(), "-classpath", System.getProperty("java.class.path"), "-proc:none"),
                null, javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(file))
                .call();
        assertTrue(ok, "README.md's Spark lines do not compile:\n" + diagnostics + "\n" + source);
    }
}
