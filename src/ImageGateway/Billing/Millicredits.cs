using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageGateway.Billing;

/// <summary>
/// Money. 1 credit = 1000 millicredits = $0.001. Stored and computed as an integer so that no
/// amount is ever rounded by floating point; shown to clients as a decimal number of credits.
/// </summary>
[JsonConverter(typeof(MillicreditsJsonConverter))]
public readonly record struct Millicredits(long Value) : IComparable<Millicredits>
{
    public const long PerCredit = 1000;

    public static Millicredits Zero => default;

    public decimal Credits => Value / (decimal)PerCredit;

    /// <summary>Exact conversion; throws when the amount has more precision than a millicredit.</summary>
    public static Millicredits FromCredits(decimal credits)
    {
        // Checked first: near decimal's own limit (about 7.9e25 credits) the product would overflow decimal.
        if (Math.Abs(credits) > long.MaxValue / 4 / PerCredit)
            throw new ArgumentOutOfRangeException(nameof(credits), "Amount is too large.");
        var scaled = credits * PerCredit;
        if (scaled != decimal.Truncate(scaled))
            throw new ArgumentException($"{credits} credits is finer than one millicredit (0.001).", nameof(credits));
        if (scaled > long.MaxValue / 4 || scaled < long.MinValue / 4)
            throw new ArgumentOutOfRangeException(nameof(credits), "Amount is too large.");
        return new Millicredits((long)scaled);
    }

    public static bool TryFromCredits(decimal credits, out Millicredits value)
    {
        try { value = FromCredits(credits); return true; }
        catch (ArgumentException) { value = Zero; return false; }
    }

    public static Millicredits operator +(Millicredits a, Millicredits b) => new(checked(a.Value + b.Value));
    public static Millicredits operator -(Millicredits a, Millicredits b) => new(checked(a.Value - b.Value));
    public static Millicredits operator -(Millicredits a) => new(checked(-a.Value));
    public static bool operator <(Millicredits a, Millicredits b) => a.Value < b.Value;
    public static bool operator >(Millicredits a, Millicredits b) => a.Value > b.Value;
    public static bool operator <=(Millicredits a, Millicredits b) => a.Value <= b.Value;
    public static bool operator >=(Millicredits a, Millicredits b) => a.Value >= b.Value;

    public int CompareTo(Millicredits other) => Value.CompareTo(other.Value);

    /// <summary>Credits with two decimals, as the original service prints them in messages ("10.50").</summary>
    public string ToDisplay() => Credits.ToString("0.00", CultureInfo.InvariantCulture);

    public override string ToString() => Credits.ToString(CultureInfo.InvariantCulture);
}

public sealed class MillicreditsJsonConverter : JsonConverter<Millicredits>
{
    public override Millicredits Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDecimal(out var credits)
            || !Millicredits.TryFromCredits(credits, out var value))
            throw new JsonException("Expected a number of credits with at most three decimals.");
        return value;
    }

    public override void Write(Utf8JsonWriter writer, Millicredits value, JsonSerializerOptions options)
        => writer.WriteNumberValue(value.Credits);
}
