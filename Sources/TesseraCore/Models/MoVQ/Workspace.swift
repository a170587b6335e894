/// Shared scratch space and the thread pool; grows on first use, then never allocates.
public final class Workspace {
    /// Who owns each scratch slot. A slot is live from `scratch(_:_:)` until its owner's last read;
    /// a caller may hold a slot across a call only if no callee takes the same one. The nesting
    /// below (outer owners hold their slot while inner ones run) is why each has its own:
    ///   MoVQModel.backward (encoderGrad) → Encoder/Decoder.backward (coderGrad)
    ///     → ResnetBlock (blockGradA, blockGradB), AttentionBlock (blockGradA, attentionProbs),
    ///       UpsampleBlock (blockGradA) → NormLayer (normScale, normShift) → ConvBlock (convColumns).
    /// The category classifier's backward holds blockGradA (∂L/∂conv output) while its norm and
    /// convolution run.
    enum Slot: Int, CaseIterable {
        /// im2col columns of the convolution running now (ConvBlock forward and backward).
        case convColumns
        /// SpatialNorm backward: ∂L/∂scale and ∂L/∂shift on the z_q grid, until the two 1×1
        /// convolutions that made them have taken them back (NormLayer.backward).
        case normScale, normShift
        /// One block's backward: the gradient in flight (ResnetBlock's tA, AttentionBlock's ∂L/∂norm
        /// output, UpsampleBlock's ∂L/∂upsampled, PatchDiscriminator's running ∂L/∂activation)…
        case blockGradA
        /// …and the second one a block needs at once (ResnetBlock's tB, the discriminator's ∂L/∂conv).
        case blockGradB
        /// SpatialAttention backward: one positions × positions probability block per worker.
        case attentionProbs
        /// Encoder/Decoder backward: ∂L/∂(the last stage's output), while the stages run backward.
        case coderGrad
        /// MoVQModel backward: ∂L/∂(encoder output), while the encoder runs backward.
        case encoderGrad
    }

    public let pool: Parallel
    /// Who runs the convolutions (per shape the faster measured engine by default).
    public var convolutions: ConvolutionEngine = .auto
    /// Wall time by kind of work (`tessera bench vq --profile`); nil costs nothing.
    public var timer: PhaseTimer?
    private var buffers: [FloatBuffer] = Slot.allCases.map { _ in FloatBuffer(count: 16) }
    public init(pool: Parallel) { self.pool = pool }

    /// Slot `slot` with at least `count` floats (contents undefined). Growing replaces the buffer,
    /// so a pointer taken earlier from the same slot is no longer valid.
    func scratch(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if buffers[i].count < count { buffers[i] = FloatBuffer(count: count) }
        return buffers[i].pointer
    }
}
