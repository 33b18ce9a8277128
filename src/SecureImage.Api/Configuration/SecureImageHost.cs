namespace SecureImage.Api.Configuration;

internal static class SecureImageHost
{
    /// <summary>
    /// The web host builder. The content root is the folder of the app's assembly, where appsettings.json
    /// is built and published: the working directory (the repository root under <c>dotnet run</c>, per the
    /// README) must not decide whether the settings file is read. Relative paths in settings such as
    /// <c>DataDirectory</c> still resolve against the working directory.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.AddLogPolicy();
        return builder;
    }
}
