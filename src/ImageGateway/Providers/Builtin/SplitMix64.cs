namespace ImageGateway.Providers.Builtin;

/// <summary>SplitMix64 (Steele, Lea, Flood 2014). Fully specified here, so stable across .NET versions.</summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public float Range(double min, double max) => (float)(min + (max - min) * NextDouble());

    /// <summary>Uniform integer in [min, max] (inclusive).</summary>
    public int Int(int min, int max) => min + (int)(NextDouble() * (max - min + 1));

    public bool Chance(double p) => NextDouble() < p;
}
