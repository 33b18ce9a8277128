using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Security;

/// <summary>
/// The bots allowed to call the API, each known by the SHA-256 of its key. Lookup compares the
/// presented key's hash with every configured hash in constant time.
/// </summary>
internal sealed partial class BotRegistry
{
    public const string DevBotId = "dev";
    public const string DevBotKey = "dev-bot-key";
    private readonly (string BotId, byte[] Hash)[] _bots;

    public BotRegistry(IReadOnlyDictionary<string, BotOptionsView> bots, bool isDevelopment)
    {
        var list = new List<(string, byte[])>();
        var devHash = SHA256.HashData(Encoding.UTF8.GetBytes(DevBotKey));
        foreach (var (botId, bot) in bots)
        {
            if (!BotIdPattern().IsMatch(botId))
            {
                throw Refuse($"SecureImage:Bots: bot id '{botId}' must be 1–64 characters of a–z, 0–9, '-' or '_'.");
            }

            if (bot.ApiKeySha256.Length != 64 || !bot.ApiKeySha256.All(char.IsAsciiHexDigit))
            {
                throw Refuse($"SecureImage:Bots:{botId}:ApiKeySha256 must be the 64 hex characters of the key's SHA-256.");
            }

            var hash = Convert.FromHexString(bot.ApiKeySha256);
            if (!isDevelopment && CryptographicOperations.FixedTimeEquals(hash, devHash))
            {
                throw Refuse($"SecureImage:Bots:{botId} uses the well-known development key; it is refused outside Development.");
            }

            list.Add((botId, hash));
        }

        if (isDevelopment && !bots.ContainsKey(DevBotId))
        {
            list.Add((DevBotId, devHash));
        }

        _bots = [.. list];
    }

    public int Count => _bots.Length;

    /// <summary>The bot whose key this is, or null. Every configured hash is compared, whether or not one matched.</summary>
    public string? FindBot(string presentedKey)
    {
        Span<byte> presented = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), presented);
        string? found = null;
        foreach (var (botId, hash) in _bots)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                found = botId;
            }
        }

        return found;
    }

    /// <summary>A refused start (one line naming the setting, <see cref="Configuration.StartupRefusal"/>).</summary>
    private static OptionsValidationException Refuse(string message) => new("SecureImage:Bots", typeof(BotRegistry), [message]);

    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    private static partial Regex BotIdPattern();
}

internal sealed record BotOptionsView(string ApiKeySha256);
