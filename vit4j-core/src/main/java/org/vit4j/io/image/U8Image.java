package org.vit4j.io.image;

/**
 * An 8-bit image held planar (channel-major): sample (c, y, x) is {@code data[(c * height + y) * width + x] & 0xff}.
 * This is the working form of the preprocessing pipeline; PIL also resamples each band separately
 * in 8 bits, which is what makes bit-exact agreement with it possible.
 */
record U8Image(int width, int height, int channels, byte[] data) {

    U8Image {
        if (width <= 0 || height <= 0 || channels <= 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height + "x" + channels);
        }
        if ((long) width * height * channels != data.length) {
            throw new IllegalArgumentException("image " + width + "x" + height + "x" + channels + " needs "
                    + (long) width * height * channels + " bytes, got " + data.length);
        }
    }

    static U8Image allocate(int width, int height, int channels) {
        return new U8Image(width, height, channels, new byte[Math.multiplyExact(Math.multiplyExact(width, height), channels)]);
    }

    int get(int c, int y, int x) {
        return data[(c * height + y) * width + x] & 0xff;
    }

    void set(int c, int y, int x, int v) {
        data[(c * height + y) * width + x] = (byte) v;
    }

    /** Offset of plane {@code c} in {@link #data()}. */
    int plane(int c) {
        return c * height * width;
    }
}
