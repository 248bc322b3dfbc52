using System.Text.RegularExpressions;
using ImageGateway.Data;

namespace ImageGateway.Tests.Data;

public sealed partial class IdsTests
{
    [GeneratedRegex("^res_[0-9A-Za-z]{24}$")]
    private static partial Regex OrderedShape();

    private static long DecodeTime(string id, string prefix)
    {
        var ms = 0L;
        foreach (var c in id.AsSpan(prefix.Length + 1, 8)) ms = ms * 62 + Ids.Base62.IndexOf(c);
        return ms;
    }

    [Fact]
    public void Ordered_ids_are_the_prefix_then_24_base62_characters_starting_with_the_time()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, 123, TimeSpan.Zero);
        var id = Ids.Ordered("res", now);
        Assert.Matches(OrderedShape(), id);
        Assert.Equal(now.ToUnixTimeMilliseconds(), DecodeTime(id, "res"));
    }

    [Fact]
    public void Ordered_ids_sort_ordinally_by_creation_time()
    {
        var start = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        // 1 ms apart, across base62 digit carries (61 -> 62 ms, 3843 -> 3844 ms), seconds, years.
        var offsets = new[] { 0L, 1, 61, 62, 63, 3843, 3844, 1000, 86_400_000, 400L * 86_400_000 };
        var times = offsets.Select(ms => start.AddMilliseconds(ms))
            .Append(DateTimeOffset.FromUnixTimeMilliseconds(61)).Append(DateTimeOffset.FromUnixTimeMilliseconds(62))
            .Append(new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero))
            .ToArray();
        var ids = times.Select(t => (Time: t, Id: Ids.Ordered("res", t))).ToArray();

        var byId = ids.OrderBy(x => x.Id, StringComparer.Ordinal).Select(x => x.Time).ToArray();
        var byTime = ids.OrderBy(x => x.Time).Select(x => x.Time).ToArray();
        Assert.Equal(byTime, byId);
        Assert.All(ids, x => Assert.Equal(x.Time.ToUnixTimeMilliseconds(), DecodeTime(x.Id, "res")));
    }

    [Fact]
    public void Ordered_ids_created_in_the_same_millisecond_differ_in_their_random_part()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 1000).Select(_ => Ids.Ordered("res", now)).ToArray();
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Single(ids.Select(id => id[..12]).Distinct());
        Assert.All(ids, id => Assert.Matches(OrderedShape(), id));
    }
}
