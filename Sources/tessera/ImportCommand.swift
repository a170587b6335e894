import ArgumentParser
import Foundation
import TesseraCore

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Turn a pre-trained model into a Tessera checkpoint: a GGUF (Llama architecture, byte-level BPE), a Hugging Face Llama/Mistral/GPT-2 directory (config.json + safetensors), or an open_lm directory (params.json + safetensors).",
        discussion: """
            The output directory receives model.safetensors (F32, Tessera's parameter names), config.json \
            (model shape; data.seq_len = --seq-len) and tokenizer.json. eval, probe and generation read it; \
            `train` can start from it.
            """)

    @Argument(help: "GGUF file, or a Hugging Face or open_lm model directory.") var file: String
    @Option(help: "Output checkpoint directory.") var out: String
    @Option(help: "Sequence length planned for evaluation and training with this checkpoint.") var seqLen: Int = 512
    @Flag(help: "Replace an existing output directory.") var overwrite = false

    func validate() throws {
        guard seqLen >= 2 else { throw TesseraError.config("--seq-len must be ≥ 2") }
    }

    func run() throws {
        // Checked before the (slow) import; the old directory is replaced only once the new one is complete.
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        if !existing.isEmpty && !overwrite {
            throw TesseraError.runState("\(out) already exists; pass --overwrite to replace it")
        }
        if !existing.isEmpty && !FileIO.replaceable(out) {
            throw TesseraError.runState(
                "\(out) was not made by Tessera (no \(FileIO.ownerMarker) marker); not deleting it — choose another --out or remove it yourself"
            )
        }
        let t0 = Date()
        let imported =
            !FileIO.isDirectory(file)
            ? try GGUFImport.load(try GGUFFile(path: file))
            : OpenLMImport.isOpenLM(dir: file) ? try OpenLMImport.load(dir: file) : try HFImport.load(dir: file)
        var config = TrainConfig(model: imported.model)
        config.data.seqLen = min(seqLen, imported.model.maxSeqLen)
        config.optim.batchTokens = config.optim.microBatch * config.data.seqLen
        let tmp = out + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let s = imported.store
        try SafetensorsWriter.write(
            path: tmp + "/model.safetensors",
            tensors: s.slots.map {
                SafetensorsTensor(name: $0.name, shape: $0.shape, f32: s.values.pointer + $0.offset)
            },
            metadata: imported.metadata.merging(["format": "tessera"]) { a, _ in a })
        try FileIO.writeAtomically(tmp + "/config.json", data: config.json)
        if let t = imported.tokenizer { try TokenizerFiles.save(t, to: tmp + "/tokenizer.json") }
        try FileIO.markOwned(tmp, kind: "imported model")
        if FileManager.default.fileExists(atPath: out) { try FileIO.removeOwned(out) }
        guard rename(tmp, out) == 0 else { throw TesseraError.data(file: out, "cannot move the import into place") }
        FileIO.fsyncDirectory(of: out)
        Console.log(
            String(
                format: "imported %@: %d parameters, %d layers, d_model %d, vocabulary %d, in %.1f s → %@",
                file, s.parameterCount, imported.model.nLayers, imported.model.dModel, imported.model.vocabSize,
                Date().timeIntervalSince(t0), out))
    }
}
