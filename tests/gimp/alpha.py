# Python-fu (run inside GIMP, after common.py): colours hidden under
# transparency count for nothing.  Two contents that differ only in the
# colour of their transparent part give the same result, and so do two
# style files that differ only there; the result keeps the content's alpha.
# Env: NST_OUT, NST_STYLE, and in NST_OUT content-red.png, content-green.png,
# style-red.png, style-green.png (made by test-alpha.sh).
out = env("NST_OUT")
settings = dict(size=64, iterations=4, seed=3)


def result_of(content_path, style_path, tag):
    image = load(content_path)
    content = image.get_layers()[0]
    if not content.has_alpha():
        raise Exception("%s was loaded without its alpha" % content_path)
    status, message = run_transfer(image, content, style_file=Gio.File.new_for_path(style_path), **settings)
    if status != Gimp.PDBStatusType.SUCCESS:
        raise Exception("%s: %s" % (tag, message))
    export_layer(image.get_layers()[0], "%s/result-%s.png" % (out, tag))
    image.delete()


def hidden_colour(path):
    image = load(path)
    layer = image.get_layers()[0]
    rgba = layer.get_pixel(layer.get_width() - 1, layer.get_height() // 2).get_rgba()
    image.delete()
    return [round(v, 2) for v in rgba]


# Without colours under the transparency this test would prove nothing.
for name in ("content", "style"):
    red, green = hidden_colour("%s/%s-red.png" % (out, name)), hidden_colour("%s/%s-green.png" % (out, name))
    print("hidden colours of the %s: %s, %s" % (name, red, green))
    if red[:3] == green[:3] or red[3] != 0:
        raise Exception("GIMP did not load the colours hidden under the %s's transparency" % name)

result_of(out + "/content-red.png", env("NST_STYLE"), "content-red")
result_of(out + "/content-green.png", env("NST_STYLE"), "content-green")
result_of(out + "/content-red.png", out + "/style-red.png", "style-red")
result_of(out + "/content-red.png", out + "/style-green.png", "style-green")
print("ALPHA-RUNS-DONE")
