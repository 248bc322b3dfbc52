using System.Text.Json;
using ImageGateway.Billing;

namespace ImageGateway.Tests.Billing;

public sealed class MillicreditsTests
{
    [Theory]
    [InlineData("21.6", 21600)]
    [InlineData("0.001", 1)]
    [InlineData("48", 48000)]
    [InlineData("10.50", 10500)]
    [InlineData("0", 0)]
    [InlineData("-3.25", -3250)]
    [InlineData("1000000", 1000000000)]
    public void FromCredits_converts_exactly(string credits, long expected)
    {
        var value = Millicredits.FromCredits(decimal.Parse(credits, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, value.Value);
    }

    [Fact]
    public void FromCredits_round_trips_through_Credits()
    {
        foreach (var credits in new[] { 0.001m, 1.5m, 21.6m, 7.5m, 123456.789m })
            Assert.Equal(credits, Millicredits.FromCredits(credits).Credits);
    }

    [Theory]
    [InlineData("0.0001")]
    [InlineData("21.6005")]
    [InlineData("-0.0001")]
    public void FromCredits_rejects_amounts_finer_than_a_millicredit(string credits)
    {
        var amount = decimal.Parse(credits, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Throws<ArgumentException>(() => Millicredits.FromCredits(amount));
        Assert.False(Millicredits.TryFromCredits(amount, out var value));
        Assert.Equal(Millicredits.Zero, value);
    }

    [Fact]
    public void FromCredits_rejects_absurdly_large_amounts()
    {
        Assert.ThrowsAny<ArgumentException>(() => Millicredits.FromCredits(decimal.MaxValue / 1000m));
        Assert.False(Millicredits.TryFromCredits(decimal.MaxValue / 1000m, out _));
    }

    [Theory]
    [InlineData(10500, "10.50")]
    [InlineData(40000, "40.00")]
    [InlineData(21600, "21.60")]
    [InlineData(0, "0.00")]
    [InlineData(1, "0.00")]
    [InlineData(7500, "7.50")]
    public void ToDisplay_gives_two_decimals(long millicredits, string expected) =>
        Assert.Equal(expected, new Millicredits(millicredits).ToDisplay());

    [Fact]
    public void ToDisplay_ignores_the_current_culture()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("10.50", new Millicredits(10500).ToDisplay());
            Assert.Equal("21.6", new Millicredits(21600).ToString());
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Json_converter_writes_credits_as_a_number()
    {
        Assert.Equal("21.6", JsonSerializer.Serialize(new Millicredits(21600)));
        Assert.Equal("48", JsonSerializer.Serialize(new Millicredits(48000)));
        Assert.Equal("0.001", JsonSerializer.Serialize(new Millicredits(1)));
        Assert.Equal("{\"cost\":21.6}", JsonSerializer.Serialize(new { cost = new Millicredits(21600) }));
    }

    [Fact]
    public void Json_converter_reads_a_number_of_credits()
    {
        Assert.Equal(21600, JsonSerializer.Deserialize<Millicredits>("21.6").Value);
        Assert.Equal(1, JsonSerializer.Deserialize<Millicredits>("0.001").Value);
    }

    [Theory]
    [InlineData("0.0001")]
    [InlineData("\"21.6\"")]
    [InlineData("null")]
    [InlineData("true")]
    public void Json_converter_rejects_non_numbers_and_sub_millicredit_amounts(string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Millicredits>(json));

    [Fact]
    public void Arithmetic_is_checked_and_ordered()
    {
        var a = new Millicredits(1500);
        var b = new Millicredits(500);
        Assert.Equal(new Millicredits(2000), a + b);
        Assert.Equal(new Millicredits(1000), a - b);
        Assert.Equal(new Millicredits(-1500), -a);
        Assert.True(b < a);
        Assert.True(a >= new Millicredits(1500));
        Assert.False(b >= a);
        Assert.Throws<OverflowException>(() => new Millicredits(long.MaxValue) + new Millicredits(1));
    }
}
