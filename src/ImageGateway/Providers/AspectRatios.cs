namespace ImageGateway.Providers;

/// <summary>The gateway's sizes as the aspect ratios of upstreams that take a ratio instead of pixels.</summary>
public static class AspectRatios
{
    /// <summary>
    /// The ratio in <paramref name="allowed"/> ("w:h") nearest to width:height, compared on a log scale
    /// (so 2:1 and 1:2 are equally far from 1:1); the first listed wins a tie.
    /// </summary>
    public static string Nearest(int width, int height, IReadOnlyList<string> allowed)
    {
        if (width <= 0 || height <= 0) return allowed.Contains("1:1") ? "1:1" : allowed[0];
        var wanted = Math.Log((double)width / height);
        var best = allowed[0];
        var bestDistance = double.MaxValue;
        foreach (var name in allowed)
        {
            var parts = name.Split(':');
            var distance = Math.Abs(Math.Log(double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture)
                / double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)) - wanted);
            if (distance < bestDistance - 1e-12) (best, bestDistance) = (name, distance);
        }
        return best;
    }
}
