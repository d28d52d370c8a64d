package org.vit4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
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
import org.vit4j.digits.EmbeddedDefaultModel;

/**
 * The README's "Java API in ten lines" exactly as the README has it: the first java block after that
 * heading is compiled against the library on this class path and its {@code main} run on the embedded
 * digits model. An edit to the API that the README does not follow fails here.
 */
class ReadmeApiTest {
    private static final Path README = Path.of("README.md");

    static String exampleFromReadme() throws Exception {
        String readme = Files.readString(README);
        int section = readme.indexOf("## The Java API in ten lines");
        assertTrue(section >= 0, "README.md has no section 'The Java API in ten lines'");
        Matcher m = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(section), "README.md's API section has no java block");
        return m.group(1);
    }

    /**
     * The README's attention lines (issue 14), as written, inside a method that has the first example's
     * {@code vit}, {@code images} and {@code m}: compiled and run on the embedded digits model.
     */
    @Test
    void theReadmeAttentionLinesCompileAndRun(@TempDir Path tmp) throws Exception {
        String readme = Files.readString(README);
        int section = readme.indexOf("## Attention maps, rollout, position embeddings");
        assertTrue(section >= 0, "README.md has no section 'Attention maps, rollout, position embeddings'");
        Matcher m = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(section), "README.md's attention section has no java block");
        String source = String.join("\n",
                "import java.util.SortedMap;",
                "import org.vit4j.HostTensor;",
                "import org.vit4j.io.checkpoint.LoadedModel;",
                "import org.vit4j.model.*;",
                "import org.vit4j.model.analysis.*;",
                "public class AttentionLines {",
                "    public static Object[] run(VisionTransformer vit, HostTensor images, LoadedModel m) {",
                m.group(1),
                "        return new Object[] {out, last, map, dist, sim};",
                "    }",
                "}");
        Path file = tmp.resolve("AttentionLines.java");
        Files.writeString(file, source);
        JavaCompiler javac = systemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        boolean ok = javac.getTask(diagnostics, null, null,
                List.of("-d", tmp.toString(), "-classpath", System.getProperty("java.class.path"), "-Xlint:all",
                        "-Werror"),
                null, javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(file))
                .call();
        assertTrue(ok, "README.md's attention lines do not compile:\n" + diagnostics);
        Path dir = EmbeddedDefaultModel.extract();
        org.vit4j.io.checkpoint.LoadedModel model =
                org.vit4j.io.checkpoint.CheckpointLoader.load(dir.resolve("model.safetensors"));
        org.vit4j.HostTensor images = org.vit4j.io.image.ImagePreprocessor.loadBatch(
                List.of(dir.resolve("samples/digit-7.png"), dir.resolve("samples/digit-3.png")), model.preprocessing());
        Object[] got;
        try (org.vit4j.backend.cpu.CpuBackend cpu = new org.vit4j.backend.cpu.CpuBackend();
                org.vit4j.model.VisionTransformer vit = new org.vit4j.model.VisionTransformer(model.weights(), cpu);
                URLClassLoader loader = new URLClassLoader(new URL[] {tmp.toUri().toURL()},
                        ReadmeApiTest.class.getClassLoader())) {
            Method run = loader.loadClass("AttentionLines").getMethod("run", org.vit4j.model.VisionTransformer.class,
                    org.vit4j.HostTensor.class, org.vit4j.io.checkpoint.LoadedModel.class);
            got = (Object[]) run.invoke(null, vit, images, model);
        }
        org.vit4j.model.VitConfig c = model.config();
        int g = c.gridSize(), n = c.tokens();
        assertEquals(List.of(2, c.heads(), n, n), java.util.Arrays.stream(((org.vit4j.HostTensor) got[1]).shape()).boxed().toList());
        assertEquals(List.of(2, g, g), java.util.Arrays.stream(((org.vit4j.HostTensor) got[2]).shape()).boxed().toList());
        assertEquals(c.depth(), ((java.util.Map<?, ?>) got[3]).size());
        assertEquals(List.of(g * g, g, g), java.util.Arrays.stream(((org.vit4j.HostTensor) got[4]).shape()).boxed().toList());
    }

    @Test
    void theReadmeExampleCompilesAndClassifiesASample(@TempDir Path tmp) throws Exception {
        String source = exampleFromReadme();
        Matcher cls = Pattern.compile("public class (\\w+)").matcher(source);
        assertTrue(cls.find(), "the README example declares no public class");
        Path file = tmp.resolve(cls.group(1) + ".java");
        Files.writeString(file, source);

        JavaCompiler javac = systemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        boolean ok = javac.getTask(diagnostics, null, null,
                List.of("-d", tmp.toString(), "-classpath", System.getProperty("java.class.path"), "-Xlint:all",
                        "-Werror"),
                null, javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(file))
                .call();
        assertTrue(ok, "README.md's API example does not compile:\n" + diagnostics);

        Path dir = EmbeddedDefaultModel.extract();
        String weights = dir.resolve("model.safetensors").toString();
        String image = dir.resolve("samples/digit-7.png").toString();
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {tmp.toUri().toURL()},
                ReadmeApiTest.class.getClassLoader())) {
            Method main = loader.loadClass(cls.group(1)).getMethod("main", String[].class);
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) new String[] {weights, image});
        } finally {
            System.setOut(stdout);
        }
        // "label probability" of the likeliest class: the digit, and a probability in (0.5, 1].
        String[] line = printed.toString(StandardCharsets.UTF_8).strip().split(" ");
        assertEquals(2, line.length, "printed: " + String.join(" ", line));
        assertEquals("7", line[0]);
        double p = Double.parseDouble(line[1]);
        assertTrue(p > 0.5 && p <= 1.0, "probability " + p);
    }

    /**
     * The JDK's compiler. A runtime without one (the distribution's jlink image, scripts/make-dist.sh)
     * cannot run these tests: they are aborted there, saying so; under Maven (CI) a JDK is always there.
     */
    private static JavaCompiler systemJavaCompiler() {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assumeTrue(javac != null, "no system Java compiler in this runtime (" + System.getProperty("java.home")
                + "): the README's code cannot be compiled here");
        return javac;
    }
}
