namespace ImageGateway.Storage;

/// <summary>Where images behind URLs live: a local folder (embedded) or an S3-compatible bucket (scale-out).</summary>
public interface IImageStore
{
    /// <summary>Stores the bytes so that a reader never sees a partial object.</summary>
    Task SaveAsync(StoredImageName name, ReadOnlyMemory<byte> bytes, string mediaType, CancellationToken ct);

    /// <summary>Stores a generated image's file; a store may write it without first decoding it whole.</summary>
    Task SaveAsync(StoredImageName name, Providers.GeneratedImage image, CancellationToken ct) =>
        SaveAsync(name, image.BytesForWriting(), image.MediaType, ct);

    /// <summary>Opens a stored image; null when it does not exist (swept, or never written).</summary>
    Task<Stream?> OpenReadAsync(StoredImageName name, CancellationToken ct);

    /// <summary>Deletes every image whose expiry has passed; returns how many.</summary>
    Task<int> SweepExpiredAsync(DateTimeOffset now, CancellationToken ct);

    /// <summary>One cheap round trip that needs the store to work (for <c>/readyz</c>); returns what the store is.</summary>
    Task<string> ProbeAsync(CancellationToken ct);
}
