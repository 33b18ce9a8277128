using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>A JPEG frame header as parsed: the coding process and each component's id and quantisation table.</summary>
internal sealed record JpegFrame(byte Marker, int Precision, byte[] ComponentIds, byte[] QuantisationTables)
{
    public bool Arithmetic => Marker >= 0xC9;

    public bool Progressive => Marker is 0xC2 or 0xCA;

    public bool Lossless => Marker is 0xC3 or 0xCB;
}

/// <summary>A JPEG scan header as parsed: per component its frame index and DC/AC table ids, then the band.</summary>
internal sealed record JpegScan((int Component, int Dc, int Ac)[] Components, int Start, int End, int High, int Low);

/// <summary>
/// The coding state a JPEG decoder keeps between segments: quantisation and Huffman tables,
/// arithmetic conditioning and the restart interval. Definitions are parsed and held, and each scan
/// is preceded by the ones it uses that differ from what was last written. So a table no scan
/// uses, one redefined before it is used, one after the last scan and a repeated restart interval
/// are never written: only what decodes the pixels is.
/// </summary>
internal sealed class JpegCodingTables
{
    private const byte Dqt = 0xDB;
    private const byte Dht = 0xC4;
    private const byte Dac = 0xCC;
    private const byte Dri = 0xDD;

    /// <summary>Per slot (4 quantisation; 8 Huffman or conditioning: class × 4 + id) the definition as its bytes in a segment.</summary>
    private readonly byte[]?[] quantisation = new byte[4][];
    private readonly byte[]?[] huffman = new byte[8][];
    private readonly byte[]?[] conditioning = new byte[8][];

    /// <summary>Per slot the definition the output's decoder holds (what was last written there).</summary>
    private readonly byte[]?[] quantisationWritten = new byte[4][];
    private readonly byte[]?[] huffmanWritten = new byte[8][];
    private readonly byte[]?[] conditioningWritten = new byte[8][];

    /// <summary>Quantisation tables a scan has used: libjpeg keeps what a component's first scan saw, others read the latest.</summary>
    private readonly bool[] quantisationUsed = new bool[4];

    private ushort restartInterval;
    private ushort restartIntervalWritten;

    /// <summary>Takes a DQT, DHT, DAC or DRI segment into the state; rejects one whose tables do not fill it exactly.</summary>
    public void Define(byte marker, ReadOnlySpan<byte> payload)
    {
        var valid = marker switch
        {
            Dqt => DefineQuantisation(payload),
            Dht => DefineHuffman(payload),
            Dac => DefineConditioning(payload),
            _ => DefineRestartInterval(payload),
        };
        if (!valid)
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged coding table segment.");
        }
    }

    /// <summary>The quantisation tables the frame's components use, as segments to write before the frame header.</summary>
    public byte[] BeforeFrame(JpegFrame frame) =>
        frame.Lossless ? [] : Segment(Dqt, quantisation, quantisationWritten, frame.QuantisationTables.Select(table => (int)table));

    /// <summary>The definitions the scan uses that differ from those last written, as segments to write before it.</summary>
    public byte[] BeforeScan(JpegFrame frame, JpegScan scan)
    {
        var quantisationSlots = frame.Lossless ? [] : scan.Components.Select(component => (int)frame.QuantisationTables[component.Component]).ToArray();
        foreach (var slot in quantisationSlots)
        {
            quantisationUsed[slot] = true;
        }

        // Lossless scans use DC tables only; progressive DC scans the DC table (none when refining),
        // AC scans the AC table; sequential scans both.
        var dc = frame.Lossless || !frame.Progressive || (scan.Start == 0 && scan.High == 0);
        var ac = !frame.Lossless && (!frame.Progressive || scan.Start > 0);
        var entropySlots = scan.Components.SelectMany(component => (dc ? [component.Dc] : Array.Empty<int>()).Concat(ac ? [4 + component.Ac] : []));

        var restart = Array.Empty<byte>();
        if (restartInterval != restartIntervalWritten)
        {
            restart = [0xFF, Dri, 0, 4, (byte)(restartInterval >> 8), (byte)restartInterval];
            restartIntervalWritten = restartInterval;
        }

        return
        [
            .. Segment(Dqt, quantisation, quantisationWritten, quantisationSlots),
            .. frame.Arithmetic ? Segment(Dac, conditioning, conditioningWritten, entropySlots) : Segment(Dht, huffman, huffmanWritten, entropySlots),
            .. restart,
        ];
    }

    private bool DefineQuantisation(ReadOnlySpan<byte> payload)
    {
        for (var at = 0; at < payload.Length;)
        {
            var (precision, slot) = (payload[at] >> 4, payload[at] & 0x0F);
            var length = 1 + (precision == 0 ? 64 : 128); // 8- or 16-bit values
            if (precision > 1 || slot > 3 || at + length > payload.Length)
            {
                return false;
            }

            var table = payload.Slice(at, length);
            if (quantisationUsed[slot] && !table.SequenceEqual(quantisation[slot]))
            {
                // Decoders disagree on which table such a file means, and the second may be dead bytes.
                throw ImageErrors.Malformed("The JPEG image changes a quantisation table after a scan used it.");
            }

            Store(quantisation, slot, table);
            at += length;
        }

        return payload.Length > 0;
    }

    private bool DefineHuffman(ReadOnlySpan<byte> payload)
    {
        for (var at = 0; at < payload.Length;)
        {
            var (tableClass, id) = (payload[at] >> 4, payload[at] & 0x0F);
            if (tableClass > 1 || id > 3 || at + 17 > payload.Length)
            {
                return false;
            }

            var symbols = 0;
            foreach (var count in payload.Slice(at + 1, 16))
            {
                symbols += count;
            }

            var length = 17 + symbols;
            if (symbols > 256 || at + length > payload.Length)
            {
                return false;
            }

            Store(huffman, (tableClass * 4) + id, payload.Slice(at, length));
            at += length;
        }

        return payload.Length > 0;
    }

    /// <summary>Pairs of class/id and value: DC bounds L ≤ U (a nibble each), AC threshold 1..63.</summary>
    private bool DefineConditioning(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 0 || payload.Length % 2 != 0)
        {
            return false;
        }

        for (var at = 0; at < payload.Length; at += 2)
        {
            var (tableClass, id, value) = (payload[at] >> 4, payload[at] & 0x0F, payload[at + 1]);
            var valueValid = tableClass == 0 ? (value & 0x0F) <= value >> 4 : value is >= 1 and <= 63;
            if (tableClass > 1 || id > 3 || !valueValid)
            {
                return false;
            }

            Store(conditioning, (tableClass * 4) + id, payload.Slice(at, 2));
        }

        return true;
    }

    private bool DefineRestartInterval(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 2)
        {
            return false;
        }

        restartInterval = BinaryPrimitives.ReadUInt16BigEndian(payload);
        return true;
    }

    private static void Store(byte[]?[] slots, int slot, ReadOnlySpan<byte> definition)
    {
        if (slots[slot] is not { } current || !definition.SequenceEqual(current))
        {
            slots[slot] = definition.ToArray();
        }
    }

    /// <summary>
    /// One segment holding the definitions of the given slots (each once, in slot order) that differ
    /// from what was last written there, or nothing. Comparing with what was written (not with what
    /// changed in the input) keeps a second pass over the output identical to the first.
    /// </summary>
    private static byte[] Segment(byte marker, byte[]?[] slots, byte[]?[] written, IEnumerable<int> wanted)
    {
        var tables = wanted.Distinct().Order().Where(slot => slots[slot] is { } current && !current.AsSpan().SequenceEqual(written[slot])).ToArray();
        if (tables.Length == 0)
        {
            return [];
        }

        var payload = tables.SelectMany(slot => slots[slot]!).ToArray();
        foreach (var slot in tables)
        {
            written[slot] = slots[slot];
        }

        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = marker;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(2 + payload.Length));
        payload.CopyTo(segment, 4);
        return segment;
    }
}
