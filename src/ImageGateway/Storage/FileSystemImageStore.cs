using ImageGateway.Providers;

namespace ImageGateway.Storage;

/// <summary>Images as files in <c>{DataDirectory}/images</c>. Writes go to a temp file and are renamed into place.</summary>
public sealed class FileSystemImageStore : IImageStore
{
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromHours(1);
    private readonly string _root;
    private volatile bool _directRefused;

    public FileSystemImageStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public Task SaveAsync(StoredImageName name, ReadOnlyMemory<byte> bytes, string mediaType, CancellationToken ct) =>
        Save(name, temp =>
        {
            using var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            RandomAccess.Write(file, bytes.Span, fileOffset: 0);
        }, ct);

    /// <summary>Written past the page cache where the file system allows it (<see cref="DirectFile"/>).</summary>
    public Task SaveAsync(StoredImageName name, GeneratedImage image, CancellationToken ct) =>
        Save(name, temp =>
        {
            if (DirectWrites && !_directRefused)
            {
                if (DirectFile.TryWrite(temp, image)) return;
                _directRefused = true; // this file system has no O_DIRECT: ordinary writes from now on
            }
            using var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            RandomAccess.Write(file, image.BytesForWriting().Span, fileOffset: 0);
        }, ct);

    /// <summary>Whether image files are written with O_DIRECT where possible (<c>Gateway:Storage:DirectWrites</c>).</summary>
    public bool DirectWrites { get; init; } = true;

    /// <summary>Whether the next image file is written with O_DIRECT.</summary>
    public bool WritesDirect => DirectWrites && DirectFile.Supported && !_directRefused;

    private Task Save(StoredImageName name, Action<string> write, CancellationToken ct)
    {
        var final = Path.Combine(_root, name.FileName);
        var temp = final + ".tmp";
        try
        {
            // Synchronous on purpose: .NET's "asynchronous" file I/O on Linux is the same call moved
            // to another thread.
            ct.ThrowIfCancellationRequested();
            write(temp);
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
