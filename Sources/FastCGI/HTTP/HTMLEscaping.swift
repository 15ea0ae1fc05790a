/// `text` with the five characters HTML gives meaning to written as entities (`&`, `<`, `>`,
/// `"`, `'`): safe in an element's text and in a quoted attribute.
///
/// ```swift
/// try response.write("<p>Hello, \(escapeHTML(name))</p>")
/// ```
public func escapeHTML(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}
