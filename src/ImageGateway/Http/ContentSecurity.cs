namespace ImageGateway.Http;

/// <summary>
/// The Content-Security-Policy of the pages the gateway serves. Same origin only: no page loads a
/// script, style, font or frame from anywhere else, and none may be framed.
/// </summary>
public static class ContentSecurity
{
    /// <summary>
    /// The console (wwwroot): its scripts and styles are files, with no inline code. Images are signed
    /// URLs on this origin, or data:/blob: for b64_json answers and the editor; the editor also
    /// fetch()es a data: URL into a blob, hence data: and blob: in connect-src (they leave no origin).
    /// </summary>
    public const string Console =
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self' data: blob:; "
        + "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    /// <summary>
    /// /docs (Scalar): its page configures itself with an inline script and styles its elements inline,
    /// so those are allowed there, and only there; everything is still loaded from this origin.
    /// </summary>
    public const string Docs =
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
        + "connect-src 'self'; font-src 'self' data:; object-src 'none'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    /// <summary>Sets <see cref="Docs"/> on the API reference page and the files it loads.</summary>
    public static IApplicationBuilder UseDocsContentSecurity(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/docs") || context.Request.Path.StartsWithSegments("/scalar"))
                context.Response.Headers.ContentSecurityPolicy = Docs;
            return next(context);
        });
}
