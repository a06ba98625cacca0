using System.Net;
using System.Net.Http.Headers;

namespace Larder.Client.Tests.Fixtures;

/// <summary>Fake server answers for tests that put a handler between the client and the server.</summary>
internal static class GrpcAnswers
{
    /// <summary>
    /// A gRPC error as a server sends it when it fails a call before any
    /// message: HTTP 200 over HTTP/2 with the status in the headers
    /// ("trailers-only").
    /// </summary>
    public static HttpResponseMessage Error(Grpc.Core.StatusCode code, string message)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK)
        {
            Version = HttpVersion.Version20,
            Content = new ByteArrayContent([]),
        };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        response.Headers.Add("grpc-status", ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Headers.Add("grpc-message", message);
        return response;
    }
}
