package org.vit4j;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The golden files made by {@code scripts/python/make_golden.py}, under src/test/resources/golden. */
public final class Golden {
    private Golden() {}

    /** Relative L2 error the fp32 reference must reach against PyTorch's float64 outputs. */
    public static final double FP32_TOLERANCE = 1e-5;

    public static Path file(String caseName, String file) {
        URL url = Golden.class.getResource("/golden/" + caseName + "/" + file);
        if (url == null) throw new AssertionError("golden file missing: " + caseName + "/" + file);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
