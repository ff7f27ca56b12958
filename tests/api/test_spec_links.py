"""The spec's links (followed by clients and the stateful fuzz run) point at real operations."""


def test_every_link_names_an_operation_and_one_of_its_path_parameters(app):
    spec = app.extensions["bridge_api"].spec.to_dict()
    seen = 0
    for operations in spec["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):  # a path's shared parameters
                continue
            for response in operation.get("responses", {}).values():
                for name, link in (response.get("links") or {}).items():
                    pointer, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
                    path = pointer.replace("~1", "/").replace("~0", "~")
                    assert method in spec["paths"].get(path, {}), name
                    for parameter in link["parameters"]:
                        assert "{" + parameter + "}" in path, name
                    seen += 1
    assert seen >= 9  # a meeting's and a stay's creates link to what takes their id
