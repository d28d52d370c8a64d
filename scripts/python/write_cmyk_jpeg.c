/*
 * write_cmyk_jpeg: writes a 4-component JPEG with libjpeg, for the CMYK/YCCK golden files
 * (scripts/python/make_cmyk_golden.py). PIL writes CMYK JPEGs but never YCCK ones, which is what
 * Photoshop usually writes, so this writes both colour spaces with chosen sampling factors.
 *
 *   write_cmyk_jpeg IN.raw WIDTH HEIGHT OUT.jpg cmyk|ycck HSAMP VSAMP
 *
 * IN.raw holds WIDTH*HEIGHT interleaved 8-bit C, M, Y, K samples as they are to be stored (Adobe
 * files store them inverted, 255 = no ink). libjpeg writes an Adobe APP14 marker with transform 0
 * (cmyk) or 2 (ycck; libjpeg converts CMYK -> YCCK itself). HSAMP x VSAMP is the sampling factor of
 * components 1 and 4 (C or Y, and K); components 2 and 3 are 1x1. Quality 95.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s IN.raw WIDTH HEIGHT OUT.jpg cmyk|ycck HSAMP VSAMP\n", argv[0]);
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), hs = atoi(argv[6]), vs = atoi(argv[7]);
    int ycck = strcmp(argv[5], "ycck") == 0;
    if (w <= 0 || h <= 0 || hs < 1 || hs > 2 || vs < 1 || vs > 2 || (!ycck && strcmp(argv[5], "cmyk") != 0)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    size_t n = (size_t)w * h * 4;
    unsigned char *buf = malloc(n);
    FILE *in = fopen(argv[1], "rb");
    if (!buf || !in || fread(buf, 1, n, in) != n) {
        fprintf(stderr, "%s: cannot read %zu bytes\n", argv[1], n);
        return 1;
    }
    fclose(in);
    FILE *out = fopen(argv[4], "wb");
    if (!out) {
        fprintf(stderr, "%s: cannot write\n", argv[4]);
        return 1;
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, out);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, ycck ? JCS_YCCK : JCS_CMYK);
    jpeg_set_quality(&c, 95, TRUE);
    for (int i = 0; i < 4; i++) {
        int full = i == 0 || i == 3;
        c.comp_info[i].h_samp_factor = full ? hs : 1;
        c.comp_info[i].v_samp_factor = full ? vs : 1;
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = buf + (size_t)c.next_scanline * w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(out);
    free(buf);
    return 0;
}
