using Microsoft.Extensions.Options;

namespace ImageGateway.Hosting;

/// <summary>
/// Binds an options class to its configuration section and checks it once, at start, with one
/// validator that reports every error together, each naming its setting.
/// </summary>
public static class OptionsValidation
{
    public static IServiceCollection AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        services.AddSingleton(new ValidatedSection(sp => sp.GetRequiredService<IOptions<TOptions>>().Value));
        return services;
    }

    /// <summary>
    /// Reads every validated section once and throws one exception with all their errors. Called
    /// before anything resolves a service: the host constructs its hosted services (and with them
    /// the database and stores, which read their options) before ValidateOnStart runs, so without
    /// this the first bad section would hide the others.
    /// </summary>
    public static void ValidateAll(IServiceProvider services)
    {
        var failures = new List<string>();
        foreach (var section in services.GetServices<ValidatedSection>())
        {
            try
            {
                section.Read(services);
            }
            catch (OptionsValidationException e)
            {
                failures.AddRange(e.Failures);
            }
        }
        if (failures.Count > 0)
            throw new OptionsValidationException(GatewayOptions.Section, typeof(GatewayOptions), failures);
    }

    public sealed record ValidatedSection(Func<IServiceProvider, object> Read);

    public static ValidateOptionsResult ToResult(this List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
