import Foundation
import TesseraCore
import Testing

/// The PNG reader against Pillow (scripts/reference/make_png_fixture.py).
@Suite struct PNGTests {
    @Test(arguments: ["rgb", "rgba", "grey", "grey_alpha", "palette", "grey16"])
    func everyColourTypeDecodesAsPillowDoes(name: String) throws {
        let img = try RGBImage.read(path: Fixtures.path("png/\(name).png"))
        #expect(img.width == 17 && img.height == 13)
        let want = try SafetensorsFile(path: Fixtures.path("png/expected.safetensors")).int32s(name).map { UInt8($0) }
        #expect(img.pixels == want)
    }

    @Test func writeReadRoundTripAndGeometry() throws {
        var rng = RandomStream(seed: 3, name: "png")
        let img = RGBImage(width: 9, height: 5, pixels: (0..<135).map { _ in UInt8(rng.int(below: 256)) })
        let path = tempDirectory("png") + "/x.png"
        try img.write(path: path)
        #expect(try RGBImage.read(path: path) == img)
        let sq = img.centreCropSquare()
        #expect(sq.width == 5 && sq.height == 5)
        #expect(Array(sq.pixels[0..<3]) == Array(img.pixels[6..<9]))  // column 2 of row 0
        // Area downscaling averages blocks; a constant image stays constant when enlarged.
        let block = RGBImage(width: 2, height: 2, pixels: [0, 0, 0, 100, 100, 100, 200, 200, 200, 50, 50, 50])
        #expect(block.resized(width: 1, height: 1).pixels == [88, 88, 88])
        let flat = RGBImage(width: 3, height: 2, pixels: [UInt8](repeating: 77, count: 18))
        #expect(flat.resized(width: 7, height: 5).pixels.allSatisfy { $0 == 77 })
    }

    @Test func malformedPNGsAreOneLineErrors() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png/rgb.png")))
        var badCRC = good
        badCRC[29] ^= 0xFF  // inside IHDR's CRC
        var huge = good
        huge.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])  // 100000 × 100000, CRC now wrong too
        for (name, data, fragment) in [
            ("truncated.png", good.prefix(60), "corrupt PNG"), ("crc.png", badCRC, "PNG"),
            ("text.png", Data("hello".utf8), "not a readable PNG"), ("huge.png", huge, "PNG"),
        ] {
            do {
                _ = try RGBImage.decode(png: data, path: name)
                Issue.record("\(name) accepted")
            } catch let e as TesseraError {
                #expect(e.exitCode == 3)
                #expect(e.description.contains(name) && e.description.contains(fragment), "\(e)")
                #expect(!e.description.contains("\n"))
            }
        }
    }
}

@Suite struct ShapesDatasetTests {
    @Test func samplesAreSeededAndDrawWhatTheCaptionSays() throws {
        let g = ShapesGenerator(seed: 5, side: 32)
        #expect(g.sample(7).image == ShapesGenerator(seed: 5, side: 32).sample(7).image)
        #expect(
            g.sample(7).caption != ShapesGenerator(seed: 6, side: 32).sample(7).caption
                || g.sample(7).image != ShapesGenerator(seed: 6, side: 32).sample(7).image)
        for i in 0..<40 {
            let s = g.sample(i)
            #expect(s.caption == "a \(s.size) \(s.colour) \(s.shape.rawValue) in the \(s.position.rawValue)")
            // The coloured pixels' centroid lies in the captioned region, and their colour is the caption's.
            var sx = 0.0, sy = 0.0, n = 0.0
            let rgb = ShapesGenerator.colours.first { $0.name == s.colour }!.rgb
            for y in 0..<32 {
                for x in 0..<32 {
                    let p = (y * 32 + x) * 3
                    if s.image.pixels[p] == rgb.0 && s.image.pixels[p + 1] == rgb.1 && s.image.pixels[p + 2] == rgb.2 {
                        sx += Double(x); sy += Double(y); n += 1
                    }
                }
            }
            #expect(n > 0, "\(s.caption): no pixel of its colour")
            let cx = sx / n / 32, cy = sy / n / 32
            let wantX =
                (s.position == .topLeft || s.position == .bottomLeft) ? 0.27 : s.position == .center ? 0.5 : 0.73
            let wantY = (s.position == .topLeft || s.position == .topRight) ? 0.27 : s.position == .center ? 0.5 : 0.73
            #expect(abs(cx - wantX) < 0.12 && abs(cy - wantY) < 0.12, "\(s.caption): centroid (\(cx), \(cy))")
        }
    }

    @Test func folderRoundTripAndMissingImage() throws {
        let dir = tempDirectory("shapes")
        try CaptionedImageFolder.writeShapes(to: dir, seed: 1, side: 16, count: 10, valCount: 3)
        let ds = try CaptionedImageFolder(dir: dir)
        #expect(ds.items.count == 10 && ds.items.filter { $0.split == "val" }.count == 3)
        #expect(try ds.image(ds.items[4]) == ShapesGenerator(seed: 1, side: 16).sample(4).image)
        try FileManager.default.removeItem(atPath: dir + "/" + ds.items[2].file)
        do {
            _ = try CaptionedImageFolder(dir: dir)
            Issue.record("accepted a missing image")
        } catch let e as TesseraError {
            #expect(e.exitCode == 3 && e.description.contains("000002.png") && e.description.contains("missing"))
        }
    }
}
