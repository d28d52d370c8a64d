package org.vit4j.io.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads PNG and JPEG files with {@code javax.imageio}. The format is recognised by its signature,
 * not the file name, and every failure (missing file, other format, corrupt or truncated data,
 * an image too large to decode) is an {@link ImageException} naming the file. CMYK and YCCK JPEGs
 * come back as RGB converted the way PIL converts them ({@link CmykJpeg}), not through Java's
 * colour management.
 */
public final class ImageLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ImageLoader.class);

    /** Largest image accepted, in pixels: PIL's decompression-bomb error threshold (2 * 89,478,485). */
    public static final long MAX_PIXELS = 2L * 89_478_485L;

    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private ImageLoader() {}

    /** Reads a PNG or JPEG image. */
    public static BufferedImage read(Path path) {
        if (Files.isDirectory(path)) {
            throw new ImageException(path + ": is a directory, expected a PNG or JPEG image file");
        }
        // A named pipe (or a device) would block the read forever: only regular files.
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new ImageException(path + ": is not a regular file (a named pipe or a device?), expected a PNG or JPEG image file");
        }
        String format = detectFormat(path);
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
        if (!readers.hasNext()) {
            throw new ImageException(path + ": no " + format + " decoder available in this Java runtime");
        }
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = open(path)) {
            if (in == null) throw new ImageException(path + ": cannot open for reading");
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((src, msg) -> {
                warnings.add(msg);
                // The data has run out: the decoder would fill the rest of the raster from nothing, which for
                // a 1 KB JPEG whose header claims 2750 x 65000 pixels took 4 s (found by fuzzing). Stop here;
                // the truncation is reported below.
                if (isTruncation(msg)) src.abort();
            });
            long w = reader.getWidth(0);
            long h = reader.getHeight(0);
            if (w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
                throw new ImageException(path + ": " + format.toUpperCase(Locale.ROOT) + " image of " + w + "x" + h
                        + " pixels, expected at least 1x1 and at most " + MAX_PIXELS + " pixels");
            }
            // A file too small to hold the pixels its header claims is truncated or corrupt, and decoding it
            // would still fill (and then preprocess) every claimed pixel: a 1 KB JPEG claiming 2750 x 65000
            // pixels decoded, with no more than a warning, to 179 M pixels in seconds (found by fuzzing).
            long bytes = Files.size(path);
            long most = mostPixels(format, bytes);
            if (w * h > most) {
                throw new ImageException(path + ": " + format.toUpperCase(Locale.ROOT) + " image of " + w + "x" + h
                        + " pixels in a file of " + bytes + " bytes, which can hold at most " + most
                        + " pixels; expected a complete image (the file is truncated or corrupt)");
            }
            // CMYK and YCCK JPEGs: the raw samples, converted as PIL converts them (no colour management).
            CmykJpeg.Kind cmyk = "jpeg".equals(format) ? CmykJpeg.kind(reader) : CmykJpeg.Kind.NOT_FOUR_COMPONENTS;
            BufferedImage img = cmyk == CmykJpeg.Kind.NOT_FOUR_COMPONENTS ? reader.read(0)
                    : CmykJpeg.toRgb(reader.readRaster(0, null), cmyk);
            for (String wmsg : warnings) {
                if (isTruncation(wmsg)) {
                    throw new ImageException(path + ": " + format.toUpperCase(Locale.ROOT)
                            + " image is truncated (" + wmsg + "), expected a complete image");
                }
                LOG.warn("{}: {}", path, wmsg);
            }
            if (img == null) {
                throw new ImageException(path + ": could not decode, expected a valid " + format.toUpperCase(Locale.ROOT) + " image");
            }
            return img;
        } catch (ImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // ImageIO reports corrupt data as IIOException, EOFException, or (sometimes) runtime exceptions.
            throw new ImageException(path + ": cannot decode " + format.toUpperCase(Locale.ROOT) + " image ("
                    + describe(e) + "): the file is corrupt, truncated or an unsupported variant; expected a valid "
                    + format.toUpperCase(Locale.ROOT) + " image", e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * The most pixels a file of {@code bytes} bytes can encode, with a margin of 2 and 64 Ki pixels to
     * spare. JPEG (Huffman-coded, as the JDK decodes it): every 8 x 8 block of every component costs at
     * least one bit, so at most 512 pixels a byte (greyscale; subsampled colour needs more bits). PNG:
     * deflate expands at most 1032-fold and a 1-bit pixel is an eighth of a byte, so at most 8256 pixels
     * a byte.
     */
    static long mostPixels(String format, long bytes) {
        long perByte = "png".equals(format) ? 8 * 1032 : 512;
        return 2 * perByte * bytes + 65_536;
    }

    /** Whether a decoder's warning says the data ended early (libjpeg: "premature end of data segment"). */
    private static boolean isTruncation(String warning) {
        String lower = warning.toLowerCase(Locale.ROOT);
        return lower.contains("premature") || lower.contains("truncat");
    }

    private static ImageInputStream open(Path path) throws IOException {
        if (path.getFileSystem() == FileSystems.getDefault()) return ImageIO.createImageInputStream(path.toFile());
        return ImageIO.createImageInputStream(Files.newInputStream(path)); // e.g. a zip file system
    }

    /** "png" or "jpeg" from the file's first bytes; anything else is an {@link ImageException}. */
    static String detectFormat(Path path) {
        byte[] head = new byte[8];
        int n = 0;
        try (InputStream in = Files.newInputStream(path)) {
            while (n < head.length) {
                int r = in.read(head, n, head.length - n);
                if (r < 0) break;
                n += r;
            }
        } catch (NoSuchFileException e) {
            throw new ImageException(path + ": no such file, expected a PNG or JPEG image", e);
        } catch (IOException e) {
            throw new ImageException(path + ": cannot read (" + describe(e) + "), expected a PNG or JPEG image", e);
        }
        if (n == 0) throw new ImageException(path + ": empty file, expected a PNG or JPEG image");
        if (n == 8 && java.util.Arrays.equals(head, PNG_MAGIC)) return "png";
        if (n >= 3 && (head[0] & 0xff) == 0xFF && (head[1] & 0xff) == 0xD8 && (head[2] & 0xff) == 0xFF) return "jpeg";
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < n; i++) hex.append(String.format("%02x", head[i] & 0xff));
        throw new ImageException(path + ": not a PNG or JPEG image (starts with bytes " + hex + ")");
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
            if (sb.length() > 0) sb.append(": ");
            sb.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
            if (t.getCause() == t) break;
        }
        return sb.toString();
    }
}
