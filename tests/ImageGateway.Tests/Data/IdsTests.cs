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

    [Fact]
    public void Random_characters_are_spread_evenly_over_the_whole_alphabet()
    {
        // 620,000 characters: 10,000 expected per character, a standard deviation of ~99.
        var counts = new int[Ids.Base62.Length];
        for (var i = 0; i < 20_000; i++)
            foreach (var c in Ids.New("x", 31).AsSpan(2)) counts[Ids.Base62.IndexOf(c)]++;
        Assert.All(counts, n => Assert.InRange(n, 9_000, 11_000));
    }

    [Fact]
    public async Task Ids_made_on_many_threads_at_once_never_repeat()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 20_000).Select(_ => Ids.New("req", 20)).ToArray())));
        var all = perThread.SelectMany(ids => ids).ToArray();
        Assert.Equal(all.Length, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void The_first_id_made_on_a_new_thread_is_random_too()
    {
        var ids = new string[16];
        var threads = Enumerable.Range(0, ids.Length).Select(i => new Thread(() => ids[i] = Ids.New("x", 24))).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.True(id[2..].Distinct().Count() > 8, id));
    }
}
