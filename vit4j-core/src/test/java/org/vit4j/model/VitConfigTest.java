package org.vit4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.vit4j.Vit4jException;

class VitConfigTest {

    @Test
    void presetsFollowTableOne() {
        VitConfig b16 = VitConfig.preset("vit-b16");
        assertEquals(768, b16.hiddenSize());
        assertEquals(12, b16.depth());
        assertEquals(12, b16.heads());
        assertEquals(3072, b16.mlpSize());
        assertEquals(197, b16.tokens());
        VitConfig l14 = VitConfig.preset("VIT-L14");
        assertEquals(1024, l14.hiddenSize());
        assertEquals(24, l14.depth());
        assertEquals(16, l14.heads());
        assertEquals(257, l14.tokens());
        VitConfig h32 = VitConfig.preset("vit-h32");
        assertEquals(1280, h32.hiddenSize());
        assertEquals(32, h32.depth());
        assertEquals(5120, h32.mlpSize());
        assertEquals(20, VitConfig.presets().size());
    }

    @Test
    void macsMatchThePublishedCount() {
        // ViT-B/16 at 224: 17.56 GMACs (timm / fvcore count), ViT-S/16: 4.6.
        assertEquals(17.56e9, VitConfig.preset("vit-b16").macsPerImage(), 0.02e9);
        assertEquals(4.6e9, VitConfig.preset("vit-s16").macsPerImage(), 0.05e9);
    }

    @Test
    void rejectsHiddenSizeNotDivisibleByHeads() {
        Vit4jException e = assertThrows(Vit4jException.class,
                () -> new VitConfig(32, 8, 3, 100, 2, 3, 64, 10, 1e-6, VitConfig.Pooling.CLASS_TOKEN));
        assertTrue(e.getMessage().contains("not divisible by heads = 3"), e.getMessage());
    }

    @Test
    void rejectsImageNotMultipleOfPatch() {
        Vit4jException e = assertThrows(Vit4jException.class,
                () -> new VitConfig(30, 8, 3, 64, 2, 4, 64, 10, 1e-6, VitConfig.Pooling.CLASS_TOKEN));
        assertTrue(e.getMessage().contains("not a multiple of patchSize 8"), e.getMessage());
    }

    @Test
    void unknownPresetListsTheKnownOnes() {
        Vit4jException e = assertThrows(Vit4jException.class, () -> VitConfig.preset("vit-x16"));
        assertTrue(e.getMessage().contains("vit-b16"), e.getMessage());
    }

    @Test
    void headsFromTimmArchitecture() {
        assertEquals(12, VitConfig.headsOfTimmArchitecture("vit_base_patch16_224.augreg_in21k"));
        assertEquals(6, VitConfig.headsOfTimmArchitecture("vit_small_patch16_224"));
        assertEquals(-1, VitConfig.headsOfTimmArchitecture("deit_base_patch16_224"));
    }
}
