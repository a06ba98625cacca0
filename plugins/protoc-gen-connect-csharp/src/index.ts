/**
 * protoc-gen-connect-csharp: a buf/protoc plugin that writes a C# client for
 * every service, speaking the Connect protocol (unary, binary protobuf) over
 * `HttpClient`. It exists because the gRPC client packages for .NET cannot be
 * restored here; the messages themselves come from protoc's built-in C#
 * generator, which this client builds on.
 *
 * @packageDocumentation
 */
import { runNodeJs } from "@bufbuild/protoplugin";
import { plugin } from "./plugin.js";

runNodeJs(plugin);
