using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Http;

namespace ImageGateway.Storage;

public static class FilesApi
{
    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder group)
    {
        // No API key: the signature is the credential, so the URL works in an <img> tag.
        group.MapGet("/image/files/{file}", GetFileAsync).WithTags(ApiDocs.Tags.Files).Produces(200, contentType: "image/png").ProducesErrors(403, 404, 410);
        return group;
    }

    /// <summary>Download a generated image</summary>
    /// <remarks>No key: the signature in the URL is the credential, so it works in an <c>&lt;img&gt;</c> tag. 403 when tampered with, 410 when expired.</remarks>
    public static async Task<Results<FileStreamHttpResult, ApiError>> GetFileAsync(string file, HttpContext http, SignedUrls urls, IImageStore store, TimeProvider time)
    {
        if (!StoredImageName.TryParse(file, out var name)) return ApiError.NotFound("No such image.");
        var query = http.Request.Query;
        switch (urls.Verify(name, query["exp"].FirstOrDefault(), query["sig"].FirstOrDefault()))
        {
            case UrlCheck.BadSignature:
                return ApiError.Forbidden("This image URL's signature is invalid.", "invalid_signature");
            case UrlCheck.Expired:
                return new ApiError(410, "invalid_request_error", "url_expired",
                    "This image URL has expired. Image URLs are valid for a limited time; generate again or download images promptly.");
        }

        var stream = await store.OpenReadAsync(name, http.RequestAborted);
        if (stream is null) return ApiError.NotFound("This image is no longer stored.");
        var secondsLeft = Math.Max(0, name.ExpiresAt - time.GetUtcNow().ToUnixTimeSeconds());
        http.Response.Headers.CacheControl = $"private, max-age={secondsLeft}";
        return TypedResults.Stream(stream, name.MediaType);
    }
}
