using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ImageGateway.Hosting;

namespace ImageGateway.Storage;

/// <summary>
/// Images as objects in an S3-compatible bucket, so that every gateway process behind a load
/// balancer sees every image. URLs stay the gateway's own signed ones (DESIGN §6): any process can
/// check the signature and stream the object, so a URL answered by one process downloads from
/// another, and the bucket itself never needs to be public. Objects are named like files
/// (<see cref="StoredImageName"/>, expiry first), so the sweeper lists and deletes them without
/// an index; a bucket lifecycle rule may delete them too, which only makes the sweep cheaper.
/// </summary>
public sealed class S3ImageStore(IAmazonS3 s3, string bucket, bool ownsClient = false) : IImageStore, IDisposable
{
    private const int SweepParallelism = 8;

    public string Bucket => bucket;

    /// <summary>
    /// Validates the settings and checks that the bucket answers, so a wrong setting stops start-up
    /// with a message naming it rather than failing the first request. Secrets are never echoed.
    /// </summary>
    public static S3ImageStore Create(S3Options options)
    {
        // The settings were checked at start (StorageOptionsValidator); this is the same check for direct callers.
        if (StorageOptionsValidator.S3Errors(options).FirstOrDefault() is { } error) throw new InvalidOperationException(error);
        var serviceUrl = new Uri(options.ServiceUrl!);

        var store = new S3ImageStore(CreateClient(options), options.Bucket!.Trim(), ownsClient: true);
        try
        {
            store.CheckAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            store.Dispose();
            throw new InvalidOperationException(
                $"The S3 bucket '{store.Bucket}' at {serviceUrl.GetLeftPart(UriPartial.Authority)} (Gateway:Storage:S3) cannot be reached: {Describe(e)}", e);
        }
        return store;
    }

    public static AmazonS3Client CreateClient(S3Options options)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = options.ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = string.IsNullOrWhiteSpace(options.Region) ? "us-east-1" : options.Region,
            // Many S3-compatible servers do not understand the newer flexible checksums (trailing CRC32);
            // only send and check them where the API requires it.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(30),
            MaxErrorRetry = 2,
        };
        return string.IsNullOrWhiteSpace(options.AccessKey)
            ? new AmazonS3Client(new AnonymousAWSCredentials(), config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    /// <summary>One cheap call that needs the bucket to exist and the credentials to be accepted (start-up and /readyz).</summary>
    public async Task CheckAsync(CancellationToken ct) =>
        await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, MaxKeys = 1 }, ct);

    public async Task<string> ProbeAsync(CancellationToken ct)
    {
        await CheckAsync(ct);
        return $"s3 bucket {bucket}";
    }

    public async Task SaveAsync(StoredImageName name, ReadOnlyMemory<byte> bytes, string mediaType, CancellationToken ct)
    {
        // A PUT is atomic in S3: a reader sees the whole object or none.
        // The bytes as they are (a pooled array during an image request), not a copy.
        using var body = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = name.FileName,
            InputStream = body,
            ContentType = mediaType,
            UseChunkEncoding = false,
            AutoCloseStream = false,
        }, ct);
    }

    public async Task<Stream?> OpenReadAsync(StoredImageName name, CancellationToken ct)
    {
        try
        {
            var response = await s3.GetObjectAsync(bucket, name.FileName, ct);
            return new ResponseOwningStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
    }

    public async Task<int> SweepExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        var nowSeconds = now.ToUnixTimeSeconds();
        var expired = new List<string>();
        var request = new ListObjectsV2Request { BucketName = bucket, MaxKeys = 1000 };
        while (true)
        {
            var page = await s3.ListObjectsV2Async(request, ct);
            foreach (var obj in page.S3Objects ?? [])
                if (StoredImageName.TryParse(obj.Key, out var name) && name.ExpiresAt <= nowSeconds) expired.Add(obj.Key);
            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken)) break;
            request.ContinuationToken = page.NextContinuationToken;
        }

        // One DELETE per object rather than DeleteObjects: the batch call needs a Content-MD5 or
        // checksum header that not every S3-compatible server accepts. Deleting a missing key
        // succeeds, so two processes sweeping at once is harmless.
        var deleted = 0;
        await Parallel.ForEachAsync(expired, new ParallelOptions { MaxDegreeOfParallelism = SweepParallelism, CancellationToken = ct },
            async (key, token) =>
            {
                await s3.DeleteObjectAsync(bucket, key, token);
                Interlocked.Increment(ref deleted);
            });
        return deleted;
    }

    public void Dispose()
    {
        if (ownsClient) s3.Dispose();
    }

    private static string Describe(Exception e) => e switch
    {
        AmazonS3Exception s3 when s3.ErrorCode == "NoSuchBucket" => "the bucket does not exist.",
        AmazonS3Exception s3 when s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized =>
            "access denied; check Gateway:Storage:S3:AccessKey and SecretKey.",
        AmazonS3Exception s3 => $"{(int)s3.StatusCode} {s3.ErrorCode}.",
        _ => (e.InnerException ?? e).Message,
    };

    /// <summary>Disposes the GetObject response (and so its HTTP connection) together with the body stream.</summary>
    private sealed class ResponseOwningStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _inner.ReadAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _inner.ReadAsync(buffer, offset, count, ct);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
