bl_info = {"name": "Quick Decimate", "blender": (3, 6, 0), "category": "Mesh"}

import bpy


class QuickDecimate(bpy.types.Operator):
    """Decimate the selected meshes to a target ratio."""

    bl_idname = "mesh.quick_decimate"
    bl_label = "Quick Decimate"
    ratio: bpy.props.FloatProperty(default=0.5, min=0.01, max=1.0)

    def execute(self, context):
        for obj in context.selected_objects:
            if obj.type != "MESH":
                continue
            mod = obj.modifiers.new("QuickDecimate", "DECIMATE")
            mod.ratio = self.ratio
            bpy.context.view_layer.objects.active = obj
            bpy.ops.object.modifier_apply(modifier=mod.name)
        return {"FINISHED"}


def register():
    bpy.utils.register_class(QuickDecimate)


def unregister():
    bpy.utils.unregister_class(QuickDecimate)
