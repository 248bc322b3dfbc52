namespace ImageGateway.Storage;

/// <summary>Images as files in <c>{DataDirectory}/images</c>. Writes go to a temp file and are renamed into place.</summary>
public sealed class FileSystemImageStore : IImageStore
{
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromHours(1);
    private readonly string _root;

    public FileSystemImageStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public Task SaveAsync(StoredImageName name, ReadOnlyMemory<byte> bytes, string mediaType, CancellationToken ct)
    {
        var final = Path.Combine(_root, name.FileName);
        var temp = final + ".tmp";
        try
        {
            // Synchronous on purpose: a write of some 100 KB lands in the page cache in microseconds,
            // while .NET's "asynchronous" file I/O on Linux is the same call moved to another thread.
            ct.ThrowIfCancellationRequested();
            using (var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                RandomAccess.Write(file, bytes.Span, fileOffset: 0);
            File.Move(temp, final);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            TryDelete(temp);
            return Task.FromException(e);
        }
    }

    public async Task<string> ProbeAsync(CancellationToken ct)
    {
        // A name that cannot exist: the store must answer "not there", not fail.
        await using var probe = await OpenReadAsync(StoredImageName.New(DateTimeOffset.UnixEpoch, "png"), ct);
        return "filesystem";
    }

    public Task<Stream?> OpenReadAsync(StoredImageName name, CancellationToken ct)
    {
        try
        {
            Stream stream = new FileStream(Path.Combine(_root, name.FileName), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete,
                64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult<Stream?>(stream);
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<int> SweepExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        var deleted = 0;
        var nowSeconds = now.ToUnixTimeSeconds();
        foreach (var path in Directory.EnumerateFiles(_root))
        {
            ct.ThrowIfCancellationRequested();
            var fileName = Path.GetFileName(path);
            if (StoredImageName.TryParse(fileName, out var name))
            {
                if (name.ExpiresAt <= nowSeconds && TryDelete(path)) deleted++;
            }
            else if (fileName.EndsWith(".tmp", StringComparison.Ordinal) && File.GetLastWriteTimeUtc(path) < now.UtcDateTime - StaleTempAge)
            {
                TryDelete(path);
            }
        }
        return Task.FromResult(deleted);
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
