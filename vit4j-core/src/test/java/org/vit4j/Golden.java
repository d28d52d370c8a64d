package org.vit4j;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.net.URL;
import java.nio.file.Path;

/** The golden files made by {@code scripts/python/make_golden.py}, under vit4j-core/src/test/resources/golden. */
public final class Golden {
    private Golden() {}

    /** Relative L2 error the fp32 reference must reach against PyTorch's float64 outputs. */
    public static final double FP32_TOLERANCE = 1e-5;

    /**
     * The golden file as a real file (the reader memory-maps it): the resource itself when the tests
     * run from a folder, a copy in a temporary folder when they run from the test jar (the
     * distribution's bin/vit4j-test).
     */
    public static synchronized Path file(String caseName, String file) {
        String resource = "/golden/" + caseName + "/" + file;
        URL url = Golden.class.getResource(resource);
        if (url == null) throw new AssertionError("golden file missing: " + caseName + "/" + file);
        try {
            if ("file".equals(url.getProtocol())) return Path.of(url.toURI());
            // A checkpoint's config is read from beside it: bring it along.
            for (String beside : new String[] {"config.json", "preprocessor_config.json"}) {
                URL b = Golden.class.getResource("/golden/" + caseName + "/" + beside);
                if (b != null) extract(b, caseName, beside);
            }
            return extract(url, caseName, file);
        } catch (URISyntaxException | IOException e) {
            throw new AssertionError("cannot read golden file " + resource, e);
        }
    }

    private static Path extract(URL url, String caseName, String file) throws IOException {
        if (extracted == null) {
            extracted = Files.createTempDirectory("vit4j-golden");
            extracted.toFile().deleteOnExit();
        }
        Path copy = extracted.resolve(caseName).resolve(file);
        if (!Files.exists(copy)) {
            Files.createDirectories(copy.getParent());
            try (InputStream in = url.openStream()) {
                Files.copy(in, copy);
            }
            copy.getParent().toFile().deleteOnExit();
            copy.toFile().deleteOnExit();
        }
        return copy;
    }

    private static Path extracted;
}
