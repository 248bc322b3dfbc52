namespace ImageGateway.Providers.OpenAi;

/// <summary>
/// The multipart body of <c>POST {base}/images/edits</c>, with the field names the npm client uses
/// (docs/PROVIDERS.md): one input as <c>image</c>, several as repeated <c>image[]</c>, the mask as
/// <c>mask</c>; the other fields as text, only those the job has set, as in the JSON generation body.
/// </summary>
internal static class OpenAiEdits
{
    public static MultipartForm Form(ImageJob job, bool stream)
    {
        var form = new MultipartForm();
        var imageField = job.Inputs.Count == 1 ? "image" : "image[]";
        for (var i = 0; i < job.Inputs.Count; i++)
        {
            var input = job.Inputs[i];
            form.AddFile(imageField, input.FileName ?? $"image-{i + 1}.{Extension(input.MediaType)}", input.MediaType, input.Bytes);
        }
        if (job.Mask is { } mask) form.AddFile("mask", mask.FileName ?? "mask.png", mask.MediaType, mask.Bytes);
        form.Add("prompt", job.Prompt)
            .Add("model", job.UpstreamModel)
            .Add("n", job.N)
            .Add("size", job.Size)
            .Add("quality", job.Quality);
        if (job.Background is not null) form.Add("background", job.Background);
        if (job.OutputFormat is not null) form.Add("output_format", job.OutputFormat);
        if (job.OutputCompression is { } compression) form.Add("output_compression", compression);
        if (job.InputFidelity is not null) form.Add("input_fidelity", job.InputFidelity);
        if (job.Moderation is not null) form.Add("moderation", job.Moderation);
        if (job.User is not null) form.Add("user", job.User);
        if (stream) form.Add("stream", true).Add("partial_images", job.PartialImages);
        return form;
    }

    private static string Extension(string mediaType) => mediaType switch
    {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    };
}
