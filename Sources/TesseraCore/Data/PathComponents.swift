import Foundation

/// Path arithmetic on plain strings, with NSString's rules ("a" + "b" → "a/b", a trailing slash
/// kept out, "." and ".." left as they are), so call sites need no `as NSString` cast.
extension String {
    /// The path of `component` inside this directory.
    public func appendingPathComponent(_ component: String) -> String {
        (self as NSString).appendingPathComponent(component)
    }

    /// The last component ("runs/a/b.json" → "b.json").
    public var lastPathComponent: String { (self as NSString).lastPathComponent }

    /// The path without its last component ("runs/a/b.json" → "runs/a").
    public var deletingLastPathComponent: String { (self as NSString).deletingLastPathComponent }

    /// The path without the extension of its last component ("a/b.json" → "a/b").
    public var deletingPathExtension: String { (self as NSString).deletingPathExtension }

    /// ".", "..", repeated and trailing slashes resolved (NSString.standardizingPath).
    public var standardizingPath: String { (self as NSString).standardizingPath }
}
