using System.Text.RegularExpressions;

namespace ImageGateway.Observability;

/// <summary>
/// Every response carries <c>x-request-id</c>: the caller's own when it is a sane token (so ids
/// can be followed across systems), otherwise a fresh one. Logs of the request carry it as a scope.
/// </summary>
public static partial class RequestIds
{
    public const string Header = "x-request-id";

    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var inbound = context.Request.Headers[Header].ToString();
            var id = inbound.Length is > 0 and <= 128 && SafeId().IsMatch(inbound) ? inbound : Data.Ids.New("req", 20);
            context.TraceIdentifier = id;
            context.Response.Headers[Header] = id;
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ImageGateway.Request");
            using (logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = id }))
                await next(context);
        });

    [GeneratedRegex("^[A-Za-z0-9._:-]+$")]
    private static partial Regex SafeId();
}
