using System.Text;
using System.Text.RegularExpressions;

namespace SecureImage.Storage.Tests.Infrastructure;

/// <summary>A declaration in a Bicep file: <c>resource|module symbol 'type@version' = { body }</c>.</summary>
internal sealed record BicepDeclaration(string Kind, string Symbol, string Type, string Body)
{
    /// <summary>The resource type without the API version.</summary>
    public string ResourceType => Type.Split('@')[0];

    /// <summary>The value of the first <c>name: value</c> line in the body (the text after the colon, trimmed).</summary>
    public string? Property(string name)
    {
        var match = Regex.Match(Body, $@"^\s*{Regex.Escape(name)}:\s*(?<value>[^\r\n]+?)\s*$", RegexOptions.Multiline);
        return match.Success ? match.Groups["value"].Value : null;
    }
}

/// <summary>
/// Just enough of Bicep to check the templates without the Bicep CLI (not available here): the
/// top-level resource and module declarations with their bodies, braces in strings and
/// interpolations accounted for.
/// </summary>
internal static partial class BicepTemplate
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Read(string fileName) => File.ReadAllText(Path.Combine(RepositoryRoot, "infra", "azure", fileName));

    public static IReadOnlyList<BicepDeclaration> Declarations(string bicep)
    {
        var result = new List<BicepDeclaration>();
        foreach (Match header in Header().Matches(bicep))
        {
            var open = header.Index + header.Length - 1;
            var close = MatchingBrace(bicep, open);
            result.Add(new BicepDeclaration(header.Groups["kind"].Value, header.Groups["symbol"].Value, header.Groups["type"].Value, bicep[(open + 1)..close]));
        }

        return result;
    }

    /// <summary>The index of the brace that closes the one at <paramref name="open"/>.</summary>
    public static int MatchingBrace(string text, int open)
    {
        // A stack of contexts: '{' code block, '\'' string, '$' interpolation inside a string.
        var stack = new Stack<char>();
        stack.Push('{');
        for (var i = open + 1; i < text.Length; i++)
        {
            var c = text[i];
            if (stack.Peek() == '\'')
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '\'')
                {
                    stack.Pop();
                }
                else if (c == '$' && i + 1 < text.Length && text[i + 1] == '{')
                {
                    stack.Push('$');
                    i++;
                }

                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                i = text.IndexOf('\n', i) is var eol && eol < 0 ? text.Length : eol;
                continue;
            }

            switch (c)
            {
                case '\'':
                    stack.Push('\'');
                    break;
                case '{':
                    stack.Push('{');
                    break;
                case '}':
                    stack.Pop();
                    if (stack.Count == 0)
                    {
                        return i;
                    }

                    break;
            }
        }

        throw new FormatException(new StringBuilder("Unbalanced braces after offset ").Append(open).ToString());
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureImage.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SecureImage.sln not found.");
    }

    [GeneratedRegex(@"^(?<kind>resource|module)\s+(?<symbol>\w+)\s+'(?<type>[^']+)'(\s+existing)?\s*=\s*(if\s*\([^\n]*\)\s*)?\{", RegexOptions.Multiline)]
    private static partial Regex Header();
}
