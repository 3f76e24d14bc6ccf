package org.saestream.lm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RopeTest {

    @Test
    void defaultFrequencies() {
        float[] inv = new Rope(8, 10000, new RopeScaling.None()).inverseFrequencies();
        assertEquals(4, inv.length);
        assertEquals(1f, inv[0]);
        assertEquals(0.1f, inv[1], 1e-7f);
        assertEquals(0.01f, inv[2], 1e-8f);
        assertEquals(0.001f, inv[3], 1e-9f);
    }

    @Test
    void linearScalingDividesEveryFrequency() {
        float[] inv = new Rope(8, 10000, new RopeScaling.Linear(4)).inverseFrequencies();
        assertEquals(0.25f, inv[0]);
        assertEquals(0.025f, inv[1], 1e-8f);
    }

    @Test
    void llama3ScalingKeepsHighDividesLowAndBlendsBetween() {
        // wavelengths 2*pi/inv: with original 8192 positions, low_freq_wavelen 8192, high_freq_wavelen 2048
        RopeScaling.Llama3 s = new RopeScaling.Llama3(8, 1, 4, 8192);
        float[] inv = s.rescale(new float[] {1f, (float) (2 * Math.PI / 4096), 1e-4f});
        assertEquals(1f, inv[0]);                                   // short wavelength kept
        double smooth = (8192 / 4096.0 - 1) / (4 - 1);                 // medium band
        double base = 2 * Math.PI / 4096;
        assertEquals((float) ((1 - smooth) * base / 8 + smooth * base), inv[1], 1e-9f);
        assertEquals(1e-4f / 8, inv[2], 1e-12f);                     // long wavelength divided by factor
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling.Llama3(8, 4, 1, 8192));
    }

    @Test
    void rotaryDimensionMustBeEven() {
        assertThrows(IllegalArgumentException.class, () -> new Rope(3, 10000, new RopeScaling.None()));
    }
}
