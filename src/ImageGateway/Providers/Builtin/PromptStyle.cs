using System.Text;

namespace ImageGateway.Providers.Builtin;

/// <summary>Palette and mood derived from the prompt words.</summary>
internal sealed class PromptStyle
{
    public required Hsl[] Palette { get; init; }
    public required bool Dark { get; init; }
    public required float Energy { get; init; } // 0..1: how busy the foreground is

    /// <summary>One colour of the palette, chosen by the generator.</summary>
    public Hsl Pick(ref SplitMix64 rng) => Palette[rng.Int(0, Palette.Length - 1)];

    private static readonly Dictionary<string, float> ColourWords = new(StringComparer.Ordinal)
    {
        ["red"] = 0, ["crimson"] = 350, ["scarlet"] = 5, ["ruby"] = 345, ["fire"] = 15, ["flame"] = 20,
        ["lava"] = 10, ["orange"] = 28, ["sunset"] = 22, ["autumn"] = 30, ["amber"] = 40, ["gold"] = 45,
        ["golden"] = 45, ["desert"] = 38, ["sand"] = 42, ["yellow"] = 55, ["lemon"] = 58, ["sun"] = 50,
        ["sunny"] = 50, ["lime"] = 85, ["green"] = 120, ["forest"] = 130, ["jungle"] = 115, ["leaf"] = 105,
        ["grass"] = 100, ["emerald"] = 145, ["mint"] = 155, ["teal"] = 175, ["turquoise"] = 175,
        ["cyan"] = 185, ["aqua"] = 185, ["ice"] = 195, ["frozen"] = 195, ["ocean"] = 200, ["sea"] = 195,
        ["water"] = 200, ["river"] = 200, ["sky"] = 205, ["rain"] = 210, ["blue"] = 220, ["sapphire"] = 222,
        ["navy"] = 230, ["indigo"] = 250, ["galaxy"] = 260, ["space"] = 245, ["cosmic"] = 265,
        ["violet"] = 270, ["purple"] = 275, ["lavender"] = 270, ["amethyst"] = 280, ["magenta"] = 300,
        ["neon"] = 310, ["pink"] = 330, ["rose"] = 340, ["cherry"] = 348, ["blossom"] = 335,
    };

    private static readonly HashSet<string> DarkWords = new(StringComparer.Ordinal)
    {
        "night", "dark", "midnight", "space", "galaxy", "cosmic", "shadow", "shadows", "noir", "moon",
        "storm", "deep", "gothic", "cyberpunk", "neon", "stars", "starry", "nebula", "cave", "abyss",
    };

    private static readonly HashSet<string> LightWords = new(StringComparer.Ordinal)
    {
        "day", "bright", "light", "pastel", "morning", "snow", "snowy", "white", "sunny", "cloud",
        "clouds", "soft", "minimal", "minimalist", "spring", "beach", "dawn", "airy",
    };

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "of", "and", "or", "with", "in", "on", "at", "to", "for", "by", "from", "is",
        "are", "it", "its", "this", "that", "as", "into", "over", "under", "very",
    };

    public static PromptStyle FromPrompt(string prompt, ref SplitMix64 rng)
    {
        var named = new List<float>();   // hues of explicit colour words (strongest signal)
        var hashed = new List<ulong>();  // hashes of the other content words
        int dark = 0, light = 0, words = 0;

        foreach (string word in Tokenize(prompt))
        {
            words++;
            if (DarkWords.Contains(word)) dark++;
            if (LightWords.Contains(word)) light++;
            if (ColourWords.TryGetValue(word, out float hue))
                named.Add(hue);
            else if (!StopWords.Contains(word))
                hashed.Add(WordHash(word));
        }

        // Harmony used to place the hues of non-colour words around the dominant hue, so that arbitrary
        // words still give a pleasant palette.
        float[] scheme = rng.Int(0, 2) switch
        {
            0 => [30f, -30f, 180f, 60f],     // analogous + complement
            1 => [150f, 210f, 35f, -35f],    // split complementary
            _ => [120f, 240f, 25f, -25f],    // triadic
        };

        var hues = new List<float>(6);
        int firstHashed = 0;
        if (named.Count > 0) hues.Add(named[0]);
        else if (hashed.Count > 0) hues.Add((hashed[firstHashed++] % 3600UL) / 10f);
        else hues.Add(rng.Range(0, 360));
        float dominant = hues[0];

        IEnumerable<float> candidates = named.Skip(1).Concat(hashed.Skip(firstHashed).Select(h =>
            dominant + scheme[(int)(h % (ulong)scheme.Length)] + ((h >> 20) % 25UL) - 12f));
        foreach (float h in candidates)
        {
            if (hues.Count == 5) break;
            // Skip near-duplicates so the palette has some spread.
            if (hues.All(x => HueDistance(x, h) > 12f)) hues.Add(h);
        }
        for (int i = 0; hues.Count < 3 && i < scheme.Length; i++)
            hues.Add(dominant + scheme[i] + rng.Range(-8, 8));

        var palette = new Hsl[hues.Count];
        for (int i = 0; i < hues.Count; i++)
            palette[i] = new Hsl(hues[i], rng.Range(55, 90), rng.Range(45, 65));

        bool isDark = dark != light ? dark > light : rng.Chance(0.6);
        float energy = Math.Clamp(0.35f + 0.05f * words + rng.Range(-0.15, 0.15), 0.2f, 1f);
        return new PromptStyle { Palette = palette, Dark = isDark, Energy = energy };
    }

    private static IEnumerable<string> Tokenize(string prompt)
    {
        var sb = new StringBuilder();
        foreach (char c in prompt)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (sb.Length > 0)
            {
                yield return sb.ToString();
                sb.Clear();
            }
        }
        if (sb.Length > 0) yield return sb.ToString();
    }

    private static float HueDistance(float a, float b)
    {
        float d = Math.Abs(((a - b) % 360f + 360f) % 360f);
        return Math.Min(d, 360f - d);
    }

    /// <summary>FNV-1a 64 over UTF-16 code units (stable across platforms and runs).</summary>
    private static ulong WordHash(string word)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in word)
        {
            h ^= c;
            h *= 0x100000001B3UL;
        }
        return SplitMix64.Mix(h);
    }
}
