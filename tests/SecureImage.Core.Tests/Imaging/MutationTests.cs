using System.Buffers.Binary;
using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>
/// Seeded mutations of the corpus (byte flips, truncations, insertions, range and chunk
/// duplications): the sanitizer only ever rejects with its own exception, never hangs, and
/// whatever it accepts re-sanitizes to the identical bytes and dimensions. Seeded plantings put a
/// marker in every structure the sanitizer keeps, in every format: it never survives.
/// </summary>
public sealed class MutationTests
{
    internal const int CasesPerFile = 400;
    private const int SeedsPerCarrier = 40;
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);

    public static IEnumerable<object[]> AcceptedNames => CorpusTests.AcceptedNames.Select(name => new object[] { name });

    public static IEnumerable<object[]> Carriers => MarkerPlanting.All.Select(carrier => new object[] { carrier.Name });

    [Theory]
    [MemberData(nameof(Carriers))]
    public async Task Marker_planted_in_a_kept_structure_never_survives(string name)
    {
        var carrier = MarkerPlanting.All.Single(candidate => candidate.Name == name);
        var seed = StableSeed(name);
        var random = new Random(seed);
        for (var index = 0; index < SeedsPerCarrier; index++)
        {
            var marker = System.Text.Encoding.ASCII.GetBytes($"SECRET-MARKER-{random.Next(10_000):D4}");
            var input = carrier.Plant(random, marker);
            var context = $"{name}, seed {seed}, case {index}";
            Assert.True(MarkerPlanting.Planted(input, marker), $"{context}: the marker was not planted");

            var first = await RunBoundedAsync(input, context);
            if (carrier.Outcome == PlantingOutcome.Rejected)
            {
                Assert.True(first is null, $"{context}: a broken fixed layout was accepted");
                continue;
            }

            Assert.True(first is not null, $"{context}: the file was rejected instead of losing the marker");
            Assert.False(MarkerPlanting.Survives(first.Value.Output, marker), $"{context}: the marker survived");
            var second = await RunBoundedAsync(first.Value.Output, context + ", re-sanitized");
            Assert.True(second is not null, $"{context}: accepted output was rejected on the second pass");
            Assert.Equal(first.Value.Output, second.Value.Output);
        }
    }

    [Theory]
    [MemberData(nameof(AcceptedNames))]
    public async Task Mutated_corpus_file_is_rejected_cleanly_or_accepted_idempotently(string name)
    {
        var original = Corpus.Read(name);
        var seed = StableSeed(name);
        var random = new Random(seed);
        var accepted = 0;
        for (var index = 0; index < CasesPerFile; index++)
        {
            var mutant = Mutate(original, random);
            var context = $"{name}, seed {seed}, case {index}";
            var first = await RunBoundedAsync(mutant, context);
            if (first is null)
            {
                continue;
            }

            accepted++;
            var second = await RunBoundedAsync(first.Value.Output, context + ", re-sanitized");
            Assert.True(second is not null, $"{context}: accepted output was rejected on the second pass");
            Assert.Equal(first.Value.Output, second.Value.Output);
            Assert.Equal((first.Value.Image.Width, first.Value.Image.Height), (second.Value.Image.Width, second.Value.Image.Height));
        }

        // Truncations past the end marker and flips inside scan data are accepted, so a run with no
        // acceptance at all means the mutations or the sanitizer went wrong.
        Assert.True(accepted > 0, $"{name}: no mutant was accepted");
    }

    /// <summary>
    /// Mutations inside PNG chunk data with the CRC made to match again, so that they reach the
    /// chunk parsers (IHDR, PLTE, tRNS, the colour chunks, acTL/fcTL and the zlib data of iCCP)
    /// instead of stopping at the checksum, as the corpus mutations above do.
    /// </summary>
    [Fact]
    public async Task Png_chunk_data_mutated_behind_a_fixed_checksum_is_rejected_cleanly_or_accepted_idempotently()
    {
        var withProfile = RealImages.InsertPngChunks(RealImages.Png(), PngKeptStructureCarrierTests.IccChunk("ICC"u8.ToArray(), IccFixture.Rgb()));
        var frameControl = new byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(4), 12);
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(8), 9);
        var animation = RealImages.InsertPngChunks(RealImages.Png(), FormatFixtures.PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), FormatFixtures.PngChunk("fcTL", frameControl));
        byte[][] pngs = [withProfile, animation, RealImages.Png(SixLabors.ImageSharp.Formats.Png.PngColorType.Palette), Corpus.Read("png_text_gps_xmp.png")];
        var seed = StableSeed(nameof(Png_chunk_data_mutated_behind_a_fixed_checksum_is_rejected_cleanly_or_accepted_idempotently));
        var random = new Random(seed);
        for (var index = 0; index < CasesPerFile; index++)
        {
            var png = (byte[])pngs[random.Next(pngs.Length)].Clone();
            var chunks = RealImages.PngChunks(png).Where(chunk => chunk.Length > 12 && chunk.Type != "IDAT").ToArray();
            var (type, start, length) = chunks[random.Next(chunks.Length)];
            var data = png.AsSpan(start + 8, length - 12);
            // The first bytes after iCCP's name are the zlib header: favour them.
            var zlibAt = type == "iCCP" ? data.IndexOf((byte)0) + 2 : 0;
            for (var edit = random.Next(1, 4); edit > 0; edit--)
            {
                var at = random.Next(2) == 0 ? Math.Min(data.Length - 1, zlibAt + random.Next(8)) : random.Next(data.Length);
                data[at] = random.Next(2) == 0 ? (byte)(data[at] ^ (1 << random.Next(8))) : (byte)random.Next(256);
            }

            if (type == "iCCP" && random.Next(3) == 0)
            {
                // A zlib header of random method, window and flags whose own check bits hold.
                var (method, flags) = (random.Next(2) == 0 ? 0x78 : random.Next(256), random.Next(256) & 0xE0);
                (data[zlibAt], data[zlibAt + 1]) = ((byte)method, (byte)(flags + (31 - (((method << 8) + flags) % 31))));
            }

            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(start + length - 4), Crc32.Finish(Crc32.Update(Crc32.Initial, png.AsSpan(start + 4, length - 8))));

            var context = $"PNG chunk {type} mutated, seed {seed}, case {index}";
            if (await RunBoundedAsync(png, context) is { } first)
            {
                var second = await RunBoundedAsync(first.Output, context + ", re-sanitized");
                Assert.True(second is not null, $"{context}: accepted output was rejected on the second pass");
                Assert.Equal(first.Output, second.Value.Output);
            }
        }
    }

    /// <summary>
    /// The RIFF size and chunk sizes set near 2^32 in WebPs whose kept header chunks change size when
    /// rebuilt (ICC profiles, ANIM), cut anywhere: size arithmetic never escapes as another exception.
    /// </summary>
    [Fact]
    public async Task WebP_declaring_sizes_near_the_riff_limit_is_rejected_cleanly()
    {
        var lossyWithAlpha = RealImages.WebPLossyWithAlpha();
        var animation = RealImages.AnimatedWebP(2);
        byte[][] profiles = [WebPHostileStructureTests.MinimalRgbProfile(), IccFixture.Rgb(), IccFixture.Rgb(IccPlant.TrailingBytes, 4)];
        var seed = StableSeed(nameof(WebP_declaring_sizes_near_the_riff_limit_is_rejected_cleanly));
        var random = new Random(seed);
        for (var index = 0; index < CasesPerFile; index++)
        {
            var profile = profiles[random.Next(profiles.Length)];
            var webp = random.Next(3) switch
            {
                0 => FormatFixtures.WebP(FormatFixtures.Vp8X(0x30, 10, 8), FormatFixtures.RiffChunk("ICCP", profile), lossyWithAlpha[30..]),
                1 => FormatFixtures.WebP(FormatFixtures.Vp8X(0x32, 10, 8), FormatFixtures.RiffChunk("ICCP", profile), animation[30..]),
                _ => FormatFixtures.WebP(FormatFixtures.Vp8X(0x20, 10, 8), FormatFixtures.RiffChunk("ICCP", profile), RealImages.WebPLossless()[12..]),
            };
            var chunks = RealImages.RiffChunks(webp).ToArray();
            var sizeAt = random.Next(3) == 0 ? chunks[random.Next(chunks.Length)].Start + 4 : 4;
            BinaryPrimitives.WriteUInt32LittleEndian(webp.AsSpan(sizeAt), uint.MaxValue - (uint)random.Next(600));
            var cut = random.Next(2) == 0 ? webp : webp[..random.Next(12, webp.Length)];

            var context = $"near-limit WebP, seed {seed}, case {index}";
            if (await RunBoundedAsync(cut, context) is { } accepted)
            {
                Assert.True(await RunBoundedAsync(accepted.Output, context + ", re-sanitized") is not null, context);
            }
        }
    }

    private static async Task<(SanitizedImage Image, byte[] Output)?> RunBoundedAsync(byte[] input, string context)
    {
        var run = Task.Run(() => Sanitize.BytesAsync(input));
        try
        {
            return await run.WaitAsync(CaseTimeout);
        }
        catch (ImageRejectedException rejection)
        {
            Assert.False(string.IsNullOrWhiteSpace(rejection.Message), context);
            return null;
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{context}: the sanitizer did not finish within {CaseTimeout}");
            throw;
        }
        catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{context}: threw {exception.GetType().Name}: {exception.Message}");
            throw;
        }
    }

    internal static byte[] Mutate(byte[] original, Random random)
    {
        var data = original.ToList();
        var edits = random.Next(1, 4);
        for (var edit = 0; edit < edits; edit++)
        {
            var at = random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = (byte)random.Next(256);
                    break;
                case 2:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 3:
                    data.InsertRange(at, Enumerable.Range(0, random.Next(1, 16)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4:
                    var length = Math.Min(random.Next(1, 4096), data.Count - at);
                    data.InsertRange(at + length, data.GetRange(at, length));
                    break;
                default:
                    DuplicateStructure(data, random);
                    break;
            }

            if (data.Count < 2)
            {
                break;
            }
        }

        return [.. data];
    }

    /// <summary>Duplicates one whole JPEG segment or PNG chunk, the unit a confused encoder repeats.</summary>
    private static void DuplicateStructure(List<byte> data, Random random)
    {
        var bytes = data.ToArray();
        var units = new List<(int Start, int Length)>();
        if (bytes.AsSpan().StartsWith(PngSanitizer.Signature))
        {
            for (var at = 8; at + 12 <= bytes.Length;)
            {
                var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
                if (length > bytes.Length)
                {
                    break;
                }

                units.Add((at, 12 + (int)length));
                at += 12 + (int)length;
            }
        }
        else if (bytes.AsSpan().StartsWith(JpegSanitizer.Signature))
        {
            for (var at = 2; at + 4 <= bytes.Length && bytes[at] == 0xFF && bytes[at + 1] != 0xDA;)
            {
                var length = 2 + BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at + 2));
                units.Add((at, length));
                at += length;
            }
        }

        var valid = units.Where(unit => unit.Start + unit.Length <= bytes.Length).ToList();
        if (valid.Count > 0)
        {
            var (start, length) = valid[random.Next(valid.Count)];
            data.InsertRange(start + length, data.GetRange(start, length));
        }
    }

    internal static int StableSeed(string name) => name.Aggregate(17, (hash, letter) => unchecked((hash * 31) + letter));
}
