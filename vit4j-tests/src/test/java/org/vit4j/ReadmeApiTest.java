package org.vit4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void theReadmeExampleCompilesAndClassifiesASample(@TempDir Path tmp) throws Exception {
        String source = exampleFromReadme();
        Matcher cls = Pattern.compile("public class (\\w+)").matcher(source);
        assertTrue(cls.find(), "the README example declares no public class");
        Path file = tmp.resolve(cls.group(1) + ".java");
        Files.writeString(file, source);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (a JDK is needed to run this test)");
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
}
