using System.Buffers;
using System.Reflection;
using System.Text.Json;
using ImageGateway.Http;
using ImageGateway.Providers;
using Microsoft.AspNetCore.Http.Metadata;

namespace ImageGateway.Generation;

/// <summary>
/// The 200 of an images request, written with its length and its images' base64 straight from
/// where it lies (the upstream's answer, as a rule): the envelope is serialized on its own with a
/// mark where each image goes, and each image then goes to the connection in slices, each flushed,
/// so the 2.6 MB of a 2 MB image are copied once into the socket's buffers and never held whole a
/// second time. Serializing it all in one go copied it twice (into a buffer as large as the answer,
/// then into the connection) before sending a byte.
/// </summary>
public sealed class ImagesOk(ImagesResponse value) : IResult, IStatusCodeHttpResult, IValueHttpResult<ImagesResponse>, IEndpointMetadataProvider
{
    /// <summary>Per flush: small enough to stay in cache between the copy and the send.</summary>
    private const int Slice = 128 * 1024;

    public ImagesResponse Value { get; } = value;
    int? IStatusCodeHttpResult.StatusCode => StatusCodes.Status200OK;

    public async Task ExecuteAsync(HttpContext context)
    {
        var (envelope, images) = Base64ImageConverter.SerializeDeferred(Value);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = envelope.Length - images.Count + images.Sum(image => (long)image.Base64Memory().Length);
        var writer = response.BodyWriter;
        var rest = envelope.AsMemory();
        foreach (var image in images)
        {
            var mark = rest.Span.IndexOf(Base64ImageConverter.Mark);
            writer.Write(rest.Span[..mark]);
            rest = rest[(mark + 1)..];
            var base64 = image.Base64Memory();
            for (var offset = 0; offset < base64.Length; offset += Slice)
            {
                writer.Write(base64.Span.Slice(offset, Math.Min(Slice, base64.Length - offset)));
                var flushed = await writer.FlushAsync(context.RequestAborted);
                if (flushed.IsCanceled || flushed.IsCompleted) return;
            }
        }
        writer.Write(rest.Span);
        await writer.FlushAsync(context.RequestAborted);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(ImagesResponse), ["application/json"]));
}
