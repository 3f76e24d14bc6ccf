package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.saestream.files.SaeLensLayout;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The training pass {@link TopK} and {@link BatchTopK} share once they have chosen which (token,
 * latent) pairs are kept: reconstruction through the kept latents plus the AuxK loss for dead latents
 * of Gao et al. 2024 ("Scaling and evaluating sparse autoencoders", section 2.4 and appendix A.2).
 *
 * <pre>
 *   f      = pre * active                           active: kept and pre > 0 (relu of the kept values)
 *   x_hat  = f W_dec + b_dec,   e = x - x_hat
 *   mse    = mean_b ||e||^2
 *   z      = relu of the kAux' largest pre-activations among dead latents, per token (kAux' = min(kAux, #dead))
 *   e_hat  = z W_dec                                (no bias: it predicts the residual)
 *   L_aux  = ||e - e_hat||^2 / ||e - mean_b e||^2   (sums over batch and dimensions)
 *   loss   = mse + alpha * (||x - mean_b x||^2 / B) * L_aux
 * </pre>
 *
 * L_aux is the paper's normalised MSE of the residual (OpenAI's reference normalises by the residual's
 * batch variance the same way, and sets it to 0 when that variance is 0). The paper adds alpha * L_aux
 * to the normalised MSE ||e||^2 / ||x - mean x||^2; the loss here is that sum times ||x - mean x||^2 / B,
 * so that its first term stays the mse every architecture reports and the two terms keep the paper's
 * relative weight. Both normalisers and e are constants for the gradient, and the auxiliary term reaches
 * only the dead latents' encoder columns, encoder biases and decoder rows (not b_dec).
 */
final class KSparseTraining {

    private KSparseTraining() {
    }

    /**
     * @param active        [B, dSae] 1 where a latent is kept for a token and its pre-activation is positive
     * @param kAux          number of dead latents per token the AuxK reconstruction uses (0 = no AuxK)
     * @param auxCoefficient alpha
     * @param bufferUpdates passed through to the result
     */
    static SaeArchitecture.TrainingPass pass(SaeParameters p, NDArray x, Encoder.Pre enc, NDArray active, int kAux,
                                             double auxCoefficient, SaeArchitecture.TrainingContext context,
                                             Map<String, NDArray> bufferUpdates) {
        long batch = x.getShape().get(0);
        double invB = 1.0 / batch;
        NDArray wDecT = p.wDec().transpose();                                 // [dIn, dSae]

        NDArray latents = enc.pre().mul(active);                              // [B, dSae]
        NDArray xHat = Encoder.decode(p, latents);                            // [B, dIn]
        NDArray err = xHat.sub(x);                                            // [B, dIn]  x_hat - x
        NDArray mse = err.square().sum().muli(invB);                          // []
        NDArray loss = mse.duplicate();                                       // []
        NDArray auxLoss = mse.zerosLike();                                    // []

        NDArray dXhat = err.mul(2.0 * invB);                                  // [B, dIn]
        NDArray dWdec = latents.transpose().matMul(dXhat);                    // [dSae, B] x [B, dIn] = [dSae, dIn]
        NDArray dPre = dXhat.matMul(wDecT).muli(active);                      // [B, dIn] x [dIn, dSae] = [B, dSae]
        NDArray dBdec = dXhat.sum(new int[]{0})                               // [dIn]  via x_hat
                .subi(p.wEnc().matMul(dPre.sum(new int[]{0})));               // - [dIn, dSae] x [dSae] via x_c

        int kEff = Math.min(kAux, context.deadCount());
        if (auxCoefficient > 0 && kEff > 0) {
            NDArray residual = err.neg();                                     // [B, dIn]  e = x - x_hat
            double residualVariance = scalar(residual.sub(residual.mean(new int[]{0})).square().sum());
            if (residualVariance > 0) {
                NDArray pre = enc.pre();
                NDArray deadColumns = x.getManager().create(deadIndices(context));   // [D] int64
                NDArray deadPre = pre.gather(deadColumns.expandDims(0)               // [B, D]
                        .broadcast(batch, deadColumns.size()), 1);
                NDArray auxActive = Encoder.topKPerRowOfColumns(deadPre, deadColumns, kEff, pre.getShape().get(1))
                        .muli(Encoder.positive(pre));                         // [B, dSae] the kEff best dead ones, > 0
                NDArray auxLatents = pre.mul(auxActive);                      // [B, dSae]  z
                NDArray auxErr = auxLatents.matMul(p.wDec()).subi(residual);  // [B, dIn]   e_hat - e
                NDArray auxSse = auxErr.square().sum();                       // []
                double inputVariance = scalar(x.sub(x.mean(new int[]{0})).square().sum());
                double c = auxCoefficient * inputVariance * invB / residualVariance;
                auxLoss = auxSse.duplicate().muli(1.0 / residualVariance);    // [] L_aux
                loss.addi(auxSse.duplicate().muli(c));

                NDArray dAux = auxErr.mul(2.0 * c);                           // [B, dIn]  d(c * sse_aux)/d e_hat
                dWdec.addi(auxLatents.transpose().matMul(dAux));              // [dSae, B] x [B, dIn]
                dPre.addi(dAux.matMul(wDecT).muli(auxActive));                // [B, dSae]  (after b_dec's share)
            }
        }

        NDArray dWenc = enc.centred().transpose().matMul(dPre);               // [dIn, B] x [B, dSae] = [dIn, dSae]
        NDArray dBenc = dPre.sum(new int[]{0});                               // [dSae]
        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put(SaeLensLayout.W_ENC, dWenc);
        grads.put(SaeLensLayout.B_ENC, dBenc);
        grads.put(SaeLensLayout.W_DEC, dWdec);
        grads.put(SaeLensLayout.B_DEC, dBdec);
        return new SaeArchitecture.TrainingPass(new SaeArchitecture.Forward(latents, xHat), mse, auxLoss, loss, grads,
                active.sum(new int[]{0}), bufferUpdates);
    }

    /** The indices of the dead latents, ascending. */
    private static long[] deadIndices(SaeArchitecture.TrainingContext context) {
        boolean[] dead = context.dead();
        long[] out = new long[context.deadCount()];
        int next = 0;
        for (int i = 0; i < dead.length; i++) {
            if (dead[i]) {
                out[next++] = i;
            }
        }
        return out;
    }

    private static double scalar(NDArray a) {
        return a.toType(DataType.FLOAT64, false).getDouble();
    }
}
