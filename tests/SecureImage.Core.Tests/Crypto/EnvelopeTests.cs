using System.Security.Cryptography;
using SecureImage.Core.Crypto;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Crypto;

public sealed class EnvelopeTests
{
    private const int Segment = 16;
    private const int Sealed = Segment + EnvelopeFormat.TagSize;

    // Four full segments and a short last one of 5 bytes: header ‖ S0 ‖ S1 ‖ S2 ‖ S3 ‖ S4(5 + tag).
    private const int FullSegments = 4;
    private const int PlaintextLength = (FullSegments * Segment) + 5;

    private readonly byte[] _dataKey = TestKeys.NewDataKey();
    private readonly Guid _imageId = Guid.NewGuid();
    private readonly byte[] _plaintext = RandomNumberGenerator.GetBytes(PlaintextLength);

    [Theory]
    [InlineData(0, 1024, 7)]
    [InlineData(1, 1024, 7)]
    [InlineData(1024, 1024, 7)]
    [InlineData(1025, 1024, 7)]
    [InlineData(1024 * 10, 1024, 333)]
    [InlineData((16 * 50) + 3, 16, 5)]
    [InlineData(16 * 50, 16, 17)]
    [InlineData(64 * 1024, EnvelopeFormat.DefaultSegmentSize, 4099)]
    [InlineData((3 * 64 * 1024) + 5, EnvelopeFormat.DefaultSegmentSize, 4099)]
    public async Task Envelope_round_trips_plaintext_of_any_length_written_in_odd_chunks(int length, int segmentSize, int chunkSize)
    {
        var plaintext = RandomNumberGenerator.GetBytes(length);

        var envelope = await Envelopes.EncryptAsync(plaintext, _dataKey, _imageId, segmentSize, chunkSize);
        var decrypted = await Envelopes.DecryptAsync(envelope, _dataKey, _imageId, chunkSize: chunkSize + 2);

        Assert.Equal(plaintext, decrypted);

        // Every segment but a short (possibly empty) last one is full; each carries one tag.
        var segments = (length / segmentSize) + 1;
        Assert.Equal(Envelopes.HeaderLength + length + (segments * EnvelopeFormat.TagSize), envelope.Length);
    }

    [Fact]
    public async Task Envelope_header_records_magic_version_segment_size_and_key_id()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        Assert.Equal("SIEV"u8.ToArray(), envelope[..4]);
        Assert.Equal(EnvelopeFormat.Version, envelope[4]);
        Assert.Equal(new byte[] { 0, 0, 0, Segment }, envelope[5..9]);
        Assert.Equal(Envelopes.KeyId.Length, envelope[9]);
        Assert.Equal("k1"u8.ToArray(), envelope[10..12]);
    }

    [Fact]
    public async Task Envelope_does_not_hold_the_plaintext()
    {
        var plaintext = RandomNumberGenerator.GetBytes(4096);

        var envelope = await Envelopes.EncryptAsync(plaintext, _dataKey, _imageId, 1024);

        Assert.True(envelope.AsSpan().IndexOf(plaintext.AsSpan(0, 32)) < 0);
        Assert.True(envelope.AsSpan().IndexOf(plaintext.AsSpan(2000, 32)) < 0);
    }

    [Fact]
    public async Task Envelope_with_any_header_bit_flipped_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        var decryptedAnyway = new List<string>();
        for (var position = 0; position < Envelopes.HeaderLength; position++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var tampered = (byte[])envelope.Clone();
                tampered[position] ^= (byte)(1 << bit);
                if (!await FailsToDecryptAsync(tampered))
                {
                    decryptedAnyway.Add($"byte {position} bit {bit}");
                }
            }
        }

        Assert.Empty(decryptedAnyway);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, 7)]
    [InlineData(FullSegments, 4)]
    public async Task Envelope_with_a_bit_flipped_in_a_segments_ciphertext_does_not_decrypt(int segment, int offsetInSegment)
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        envelope[SegmentStart(segment) + offsetInSegment] ^= 0x01;

        await AssertDoesNotDecryptAsync(envelope);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(FullSegments)]
    public async Task Envelope_with_a_bit_flipped_in_a_tag_does_not_decrypt(int segment)
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);
        var tagStart = SegmentStart(segment) + (segment == FullSegments ? 5 : Segment);

        envelope[tagStart + (EnvelopeFormat.TagSize - 1)] ^= 0x80;

        await AssertDoesNotDecryptAsync(envelope);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(EnvelopeFormat.TagSize)]
    [InlineData(5 + EnvelopeFormat.TagSize - 1)]
    public async Task Envelope_truncated_inside_its_last_segment_does_not_decrypt(int bytesCut)
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        await AssertDoesNotDecryptAsync(envelope[..^bytesCut]);
    }

    [Fact]
    public async Task Envelope_truncated_at_a_segment_boundary_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        await AssertDoesNotDecryptAsync(envelope[..SegmentStart(FullSegments)]);
        await AssertDoesNotDecryptAsync(envelope[..SegmentStart(2)]);
    }

    [Fact]
    public async Task Envelope_ending_on_a_segment_boundary_without_its_empty_last_segment_does_not_decrypt()
    {
        var plaintext = RandomNumberGenerator.GetBytes(3 * Segment);
        var envelope = await Envelopes.EncryptAsync(plaintext, _dataKey, _imageId, Segment);
        Assert.Equal(SegmentStart(3) + EnvelopeFormat.TagSize, envelope.Length);

        await AssertDoesNotDecryptAsync(envelope[..SegmentStart(3)]);
    }

    [Fact]
    public async Task Envelope_cut_to_its_header_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        await AssertDoesNotDecryptAsync(envelope[..Envelopes.HeaderLength]);
    }

    [Fact]
    public async Task Envelope_truncated_inside_its_header_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        var decryptedAnyway = new List<int>();
        for (var length = 0; length < Envelopes.HeaderLength; length++)
        {
            if (!await FailsToDecryptAsync(envelope[..length]))
            {
                decryptedAnyway.Add(length);
            }
        }

        Assert.Empty(decryptedAnyway);
    }

    [Fact]
    public async Task Envelope_with_two_full_segments_swapped_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);
        var reordered = (byte[])envelope.Clone();

        envelope.AsSpan(SegmentStart(1), Sealed).CopyTo(reordered.AsSpan(SegmentStart(2)));
        envelope.AsSpan(SegmentStart(2), Sealed).CopyTo(reordered.AsSpan(SegmentStart(1)));

        await AssertDoesNotDecryptAsync(reordered);
    }

    [Theory]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 })]
    public async Task Envelope_with_bytes_appended_does_not_decrypt(byte[] extra)
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        await AssertDoesNotDecryptAsync([.. envelope, .. extra]);
    }

    [Fact]
    public async Task Envelope_with_a_whole_segment_appended_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        await AssertDoesNotDecryptAsync([.. envelope, .. envelope.AsSpan(SegmentStart(0), Sealed)]);
        await AssertDoesNotDecryptAsync([.. envelope, .. envelope.AsSpan(SegmentStart(FullSegments))]);
    }

    [Fact]
    public async Task Envelope_whose_short_last_segment_is_replaced_by_a_full_one_does_not_decrypt()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);
        var withoutLast = envelope[..SegmentStart(FullSegments)];

        await AssertDoesNotDecryptAsync([.. withoutLast, .. envelope.AsSpan(SegmentStart(FullSegments - 1), Sealed)]);
        await AssertDoesNotDecryptAsync([.. withoutLast, .. RandomNumberGenerator.GetBytes(Sealed)]);
    }

    [Fact]
    public async Task Envelope_of_one_image_does_not_decrypt_as_another_image()
    {
        var otherImageId = Guid.NewGuid();
        var otherDataKey = TestKeys.NewDataKey();
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);

        await AssertDoesNotDecryptAsync(envelope, _dataKey, otherImageId);
        await AssertDoesNotDecryptAsync(envelope, otherDataKey, otherImageId);
        await AssertDoesNotDecryptAsync(envelope, otherDataKey, _imageId);
    }

    [Fact]
    public async Task Envelope_segments_spliced_from_another_envelope_under_the_same_key_do_not_decrypt()
    {
        var first = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);
        var second = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);
        var spliced = (byte[])first.Clone();

        second.AsSpan(SegmentStart(1), Sealed).CopyTo(spliced.AsSpan(SegmentStart(1)));

        await AssertDoesNotDecryptAsync(spliced);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(Segment)]
    [InlineData(PlaintextLength)]
    public async Task Envelope_never_completed_does_not_decrypt(int bytesWritten)
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext[..bytesWritten], _dataKey, _imageId, Segment, chunkSize: 3, complete: false);

        await AssertDoesNotDecryptAsync(envelope);
    }

    [Fact]
    public async Task Envelope_writer_refuses_writes_after_it_is_complete()
    {
        await using var envelope = new EnvelopeEncryptingStream(new MemoryStream(), _dataKey, _imageId, Envelopes.KeyId, Segment);
        await envelope.WriteAsync(_plaintext);
        await envelope.CompleteAsync(CancellationToken.None);

        Assert.False(envelope.CanWrite);
        await Assert.ThrowsAsync<InvalidOperationException>(() => envelope.WriteAsync(_plaintext).AsTask());
    }

    [Fact]
    public async Task Envelope_decryption_releases_nothing_of_a_segment_that_fails_authentication()
    {
        var envelope = await Envelopes.EncryptAsync(_plaintext, _dataKey, _imageId, Segment);
        envelope[SegmentStart(0)] ^= 0x01;
        await using var decrypting = new EnvelopeDecryptingStream(new MemoryStream(envelope), _dataKey, _imageId);
        var buffer = new byte[PlaintextLength];

        await Assert.ThrowsAsync<EnvelopeException>(() => decrypting.ReadAsync(buffer).AsTask());
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    private static int SegmentStart(int segment) => Envelopes.HeaderLength + (segment * Sealed);

    private Task AssertDoesNotDecryptAsync(byte[] envelope) => AssertDoesNotDecryptAsync(envelope, _dataKey, _imageId);

    private static async Task AssertDoesNotDecryptAsync(byte[] envelope, byte[] dataKey, Guid imageId) =>
        await Assert.ThrowsAsync<EnvelopeException>(() => Envelopes.DecryptAsync(envelope, dataKey, imageId));

    private async Task<bool> FailsToDecryptAsync(byte[] envelope)
    {
        try
        {
            await Envelopes.DecryptAsync(envelope, _dataKey, _imageId);
            return false;
        }
        catch (EnvelopeException)
        {
            return true;
        }
    }
}
